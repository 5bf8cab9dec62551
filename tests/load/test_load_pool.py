"""The pool: stamped files are exactly what `up` would write for those pixels, names and time."""

from __future__ import annotations

import bz2
import datetime as dt
import io
import warnings

import numpy as np
import pytest
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

from send_test_images.errors import UsageError
from send_test_images.exposure.binning import bin_frame, small_bin_factor
from send_test_images.exposure.cards import card_image
from send_test_images.exposure.fitsfiles import fits_bytes
from send_test_images.exposure.header import header_text, make_header
from send_test_images.exposure.observation import make_observation
from send_test_images.exposure.profiles import get_camera
from send_test_images.exposure.spec import ExposureSpec
from send_test_images.exposure.synth import FrameSpec, make_frame, sketch_frame
from send_test_images.load.pool import (
    FramePool,
    PoolKey,
    card_offsets,
    make_fresh,
)

WHEN = dt.datetime(2026, 11, 30, 9, 30, 15, 250000, tzinfo=dt.UTC)


def key(fits_format: str = "fz", files: str = "hjtfF", size: int = 2, kind: str = "light") -> PoolKey:
    camera = get_camera("sq768", width=128, height=96)
    return PoolKey(camera, FrameSpec(kind=kind, exptime=0.0 if kind == "bias" else 12.5), files, fits_format,
                   "EX", size, seed=11)


@pytest.fixture(scope="module")
def pool() -> FramePool:
    return FramePool.build(key())


def expected_header(pool: FramePool, site: str, inst: str, number: int, pointing_seed: int) -> fits.Header:
    """What header.make_header writes for the pooled frame's pixels under these names at WHEN."""
    template = pool.templates[number % len(pool.templates)]
    spec = ExposureSpec(site=site, inst=inst, number=number, data_type="EX", files=pool.key.files, date_obs=WHEN,
                        camera=pool.key.camera, frame=pool.key.frame, seed=template.seed,
                        fits_format=pool.key.fits_format)
    frame = (make_frame(spec.frame, spec.camera, seed=spec.seed) if spec.draws_pixels
             else sketch_frame(spec.frame, spec.camera, seed=spec.seed))  # a header alone: no pixels
    assert spec.site_profile is not None
    return make_header(spec, frame, make_observation(WHEN, spec.site_profile, pointing_seed))


@pytest.mark.parametrize(("site", "inst", "number"), [("abc01", "c0", 1), ("zzzzz", "czzzz", 99_999_999),
                                                      ("k7q00", "c1a", 12345), ("mrc2", "c0", 3)])
def test_the_stamped_header_is_make_headers_byte_for_byte(pool: FramePool, site: str, inst: str,
                                                          number: int) -> None:
    """mrc2 is a real site: its own location, night and enclosure SITEID, unlike the pool's."""
    files = pool.make(site, inst, number, WHEN, pointing_seed=number)
    assert bytes(files[0].data) == header_text(expected_header(pool, site, inst, number, number))


def test_names_follow_the_camera_and_its_night(pool: FramePool) -> None:
    files = pool.make("abc01", "c7", 42, WHEN, pointing_seed=3)
    assert [str(f.name) for f in files] == [
        f"abc01-c7-20261129-00000042-EX{suffix}"
        for suffix in ("00.txt", "10.jpg", "11.jpg", "10.fits.fz", "00.fits.fz")
    ]


@pytest.mark.parametrize("fits_format", ["fz", "bz2"])
def test_fits_files_carry_the_stamped_cards_and_the_pooled_pixels(fits_format: str) -> None:
    pool = FramePool.build(key(fits_format))
    files = pool.make("abc01", "c2", 7, WHEN, pointing_seed=5)
    header = expected_header(pool, "abc01", "c2", 7, 5)
    template = pool.templates[7 % len(pool.templates)]
    pixels = make_frame(pool.key.frame, pool.key.camera, seed=template.seed).pixels
    large = files[-1]
    raw = bz2.decompress(large.data) if fits_format == "bz2" else bytes(large.data)
    with fits.open(io.BytesIO(raw)) as hdul:
        hdu = hdul[-1]
        for name in header:
            if name not in ("SIMPLE", "HISTORY", "BSCALE", "BZERO"):  # structural, or applied by astropy
                assert hdu.header[name] == header[name], name
        assert list(hdu.header["HISTORY"]) == list(header["HISTORY"])
        np.testing.assert_array_equal(hdu.data, pixels)
    small = files[-2]
    raw = bz2.decompress(small.data) if fits_format == "bz2" else bytes(small.data)
    with fits.open(io.BytesIO(raw)) as hdul:
        assert hdul[-1].header["ORIGNAME"] == header["ORIGNAME"]
        assert hdul[-1].header["DATE-OBS"] == header["DATE-OBS"]


@pytest.mark.parametrize("fits_format", ["fz", "bz2"])
@pytest.mark.parametrize("kind", ["light", "flat"])
def test_stamped_fits_files_are_ups_byte_for_byte(fits_format: str, kind: str) -> None:
    """Both FITS files as products.py writes them from make_header for these pixels, names and time."""
    pool = FramePool.build(key(fits_format, files="fF", size=1, kind=kind))
    files = pool.make("k7q00", "c1a", 12345, WHEN, pointing_seed=4)
    header = expected_header(pool, "k7q00", "c1a", 12345, 4)
    pixels = make_frame(pool.key.frame, pool.key.camera, seed=pool.templates[0].seed).pixels
    text = header_text(header)
    factor = small_bin_factor(pixels.shape, pool.key.camera.small_size)
    small = fits_bytes(*bin_frame(pixels, header, factor), fits_format) if factor > 1 else None
    large = fits_bytes(pixels, header, fits_format, text=text)
    expected = [small or large, large]
    got = [bytes(f.data) for f in files]
    if fits_format == "bz2":
        expected, got = [bz2.decompress(e) for e in expected], [bz2.decompress(g) for g in got]
    assert got == expected


def test_exposures_cycle_through_distinct_frames(pool: FramePool) -> None:
    jpgs = [bytes(pool.make("abc01", "c0", n, WHEN, n)[1].data) for n in range(4)]
    assert jpgs[0] != jpgs[1] and jpgs[0] == jpgs[2] and jpgs[1] == jpgs[3]


def test_the_same_seed_draws_the_same_pool() -> None:
    one, two = FramePool.build(key()), FramePool.build(key())
    assert [f.data for f in one.templates[1].files] == [f.data for f in two.templates[1].files]


def test_a_calibration_frame_is_stamped_too() -> None:
    pool = FramePool.build(key(kind="bias", files="h", size=1))
    files = pool.make("abc01", "c0", 3, WHEN, pointing_seed=9)
    assert bytes(files[0].data) == header_text(expected_header(pool, "abc01", "c0", 3, 9))


def test_fresh_frames_are_drawn_as_up_draws_them() -> None:
    files = make_fresh(key(files="hj"), "abc01", "c0", 5, WHEN, seed=77)
    assert [str(f.name) for f in files] == ["abc01-c0-20261129-00000005-EX00.txt",
                                            "abc01-c0-20261129-00000005-EX10.jpg"]
    assert b"SEED    =                   77" in bytes(files[0].data)


@pytest.mark.parametrize("value", ["a", "abcdefgh", "abcdefghi", "x" * 60, 0, -7, 12345678901, 1.0, -0.5,
                                   123.456789012345, 1e-7, 2400000.5 + 61000.123456789, 89.99999])
@pytest.mark.parametrize("comment", ["", "a comment", "[deg] a long comment " * 4])
def test_card_images_are_astropys(value: object, comment: str) -> None:
    """What header.py writes and the pool stamps: the comment cut to fit after astropy's value."""
    room = 80 - len(fits.Card("KEY", value).image.rstrip()) - 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VerifyWarning)  # "comment will be truncated": that is the rule
        expected = fits.Card("KEY", value, comment[:room] if room > 0 else "").image
    assert card_image("KEY", value, comment) == expected


def test_card_offsets_skip_data_that_looks_like_a_card() -> None:
    header = fits.Header([("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 1), ("NAXIS1", 80)])
    trap = b"DATE-OBS= 'not a card'".ljust(80)
    second = fits.Header([("XTENSION", "IMAGE"), ("BITPIX", 8), ("NAXIS", 0), ("PCOUNT", 0), ("GCOUNT", 1),
                          ("DATE-OBS", "2026-11-30")])
    data = header.tostring().encode() + trap.ljust(2880) + second.tostring().encode()
    assert card_offsets(data, ["DATE-OBS"]) == (("DATE-OBS", 2880 * 2 + 5 * 80),)


@pytest.mark.parametrize("size", [0, 65])
def test_a_pool_size_out_of_range_is_refused(size: int) -> None:
    with pytest.raises(UsageError, match=r"pool size .* is not allowed: use 1 to 64"):
        FramePool.build(key(size=size))
