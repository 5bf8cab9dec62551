"""FITS bytes: lossless, standard (fitsverify), and a small FITS whose WCS still points right."""

from __future__ import annotations

import bz2
import datetime as dt
import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from send_test_images.errors import UsageError
from send_test_images.exposure.binning import bin_frame, small_bin_factor
from send_test_images.exposure.fitsfiles import bz2_bytes, fits_bytes, fz_bytes
from send_test_images.exposure.presets import PTR_OBSERVATORY, Preset
from send_test_images.exposure.profiles import get_camera
from send_test_images.exposure.spec import ExposureSpec
from send_test_images.exposure.synth import FRAME_KINDS, FrameSpec

FITSVERIFY = shutil.which("fitsverify")


def wcs_header(width: int, height: int) -> fits.Header:
    header = fits.Header()
    header["FILTER"] = "L"
    header["XBINNING"] = 1
    header["YBINNING"] = 1
    header["PIXSCALE"] = 1.6
    for key, value in {
        "CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRVAL1": 150.0, "CRVAL2": -30.0,
        "CRPIX1": (width + 1) / 2, "CRPIX2": (height + 1) / 2,
        "CDELT1": -1.6 / 3600, "CDELT2": 1.6 / 3600,
    }.items():
        header[key] = value
    return header


def full_range(shape: tuple[int, int]) -> np.ndarray:
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 65536, size=shape, dtype=np.uint16)
    pixels[0, 0], pixels[0, 1] = 0, 65535
    return pixels


def test_fz_is_lossless_for_every_uint16_value() -> None:
    pixels = full_range((37, 53))
    data = fz_bytes(pixels, wcs_header(53, 37))
    with fits.open(io.BytesIO(data), disable_image_compression=True) as raw:
        assert raw[1].header["ZCMPTYPE"] == "RICE_1"
    with fits.open(io.BytesIO(data)) as hdul:
        assert hdul[0].data is None  # fpack layout: empty primary, image in extension 1
        assert hdul[1].header["FILTER"] == "L"
        assert hdul[1].data.dtype == np.uint16
        assert np.array_equal(hdul[1].data, pixels)


def test_bz2_is_a_plain_uint16_fits_with_bzero() -> None:
    pixels = full_range((20, 30))
    plain = bz2.decompress(bz2_bytes(pixels, wcs_header(30, 20)))
    with fits.open(io.BytesIO(plain), do_not_scale_image_data=True) as hdul:
        assert hdul[0].header["BITPIX"] == 16
        assert hdul[0].header["BZERO"] == 32768
    with fits.open(io.BytesIO(plain)) as hdul:
        assert hdul[0].header["FILTER"] == "L"
        assert np.array_equal(hdul[0].data, pixels)


@pytest.mark.parametrize("fmt", ["fz", "bz2"])
def test_same_input_same_bytes(fmt: str) -> None:
    pixels = full_range((16, 16))
    assert fits_bytes(pixels, wcs_header(16, 16), fmt) == fits_bytes(
        pixels.copy(), wcs_header(16, 16), fmt
    )


def test_unknown_format_is_refused_by_name() -> None:
    with pytest.raises(UsageError, match="FITS format 'gz' is not allowed: use one of fz, bz2"):
        fits_bytes(np.zeros((4, 4), np.uint16), fits.Header(), "gz")


@pytest.mark.parametrize(("shape", "expected_long"), [((4096, 4096), 682), ((1024, 1024), 512),
                                                      ((768, 768), 768), ((3000, 4500), 750)])
def test_small_factor_brings_the_long_side_to_at_most_768(
    shape: tuple[int, int], expected_long: int
) -> None:
    factor = small_bin_factor(shape, 768)
    assert max(shape) // factor == expected_long


def test_binned_wcs_points_at_the_same_sky_as_the_full_frame() -> None:
    width, height, factor = 1024, 768, 3
    header = wcs_header(width, height)
    pixels = full_range((height, width))
    binned, small = bin_frame(pixels, header, factor)
    assert binned.shape == (height // factor, width // factor)
    assert small["XBINNING"] == small["YBINNING"] == factor
    assert small["PIXSCALE"] == pytest.approx(1.6 * factor)
    big, little = WCS(header), WCS(small)
    for bx, by in [(0, 0), (10, 200), (340, 255)]:  # 0-based binned pixels
        # centre of the factor x factor block of original pixels this binned pixel averages
        ox, oy = bx * factor + (factor - 1) / 2, by * factor + (factor - 1) / 2
        ra_small, dec_small = little.all_pix2world(bx, by, 0)
        ra_big, dec_big = big.all_pix2world(ox, oy, 0)
        assert ra_small == pytest.approx(ra_big, abs=1e-9)
        assert dec_small == pytest.approx(dec_big, abs=1e-9)
    block = pixels[:factor, :factor].astype(float).mean()
    assert abs(int(binned[0, 0]) - block) <= 0.5


def fitsverify(path: Path) -> str:
    if FITSVERIFY is None:
        pytest.skip("fitsverify is not installed (Debian package 'fitsverify')")
    result = subprocess.run(
        [FITSVERIFY, "-q", path], capture_output=True, text=True, check=False, timeout=60
    )
    return result.stdout + result.stderr


@pytest.mark.parametrize("preset", [None, PTR_OBSERVATORY], ids=["default", "site"])
@pytest.mark.parametrize("kind", FRAME_KINDS)
@pytest.mark.parametrize("fmt", ["fz", "bz2"])
def test_every_fits_file_passes_fitsverify_without_errors_or_warnings(
    kind: str, fmt: str, preset: Preset | None, tmp_path: Path
) -> None:
    spec = ExposureSpec(
        site="tst", inst="cam1", number=7, files="fF", camera=get_camera("sq1k"),
        frame=FrameSpec(kind=kind, exptime=0.0 if kind == "bias" else 5.0), seed=5,
        fits_format=fmt, date_obs=dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC), preset=preset,
    )
    from send_test_images.exposure.products import make_exposure

    exposure = make_exposure(spec)
    kept = [exposure.archive] if exposure.archive is not None else []  # the preset's archive FITS
    assert bool(kept) == (preset is not None)
    for name, data in [(str(p.name), p.data) for p in exposure.products] + [(a.name, a.data) for a in kept]:
        path = tmp_path / name
        path.write_bytes(data)
        report = fitsverify(path)
        assert "verification OK" in report, report


def test_the_sites_archive_fits_is_float32_rice_under_its_origname() -> None:
    """ptr-observatory's fz_archive_file.py: CompImageHDU(float32 data, header), BZERO 0."""
    from send_test_images.exposure.products import draw_frame, make_exposure

    spec = ExposureSpec(site="mrc1", inst="sq01", number=9, files="hjF", data_type="EX", seed=4,
                        camera=get_camera("sq768"), date_obs=dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC),
                        preset=PTR_OBSERVATORY)
    exposure = make_exposure(spec)
    assert [str(p.name).rsplit("-", 1)[1] for p in exposure.products] == ["EX00.txt", "EX10.jpg"]  # not sent
    archive = exposure.archive
    assert archive is not None
    assert archive.name == exposure.header["ORIGNAME"] == "mrc1-sq01_expose_L-20260228-00000009-EX00.fits.fz"
    pixels = draw_frame(spec)[0].pixels
    with fits.open(io.BytesIO(archive.data), disable_image_compression=True) as raw:
        assert (raw[1].header["ZCMPTYPE"], raw[1].header["ZBITPIX"]) == ("RICE_1", -32)
    with fits.open(io.BytesIO(archive.data)) as hdul:
        compressed = hdul[1]
        assert compressed.data.dtype == np.float32
        # quantised to a fraction of the noise: within a few ADU of the pixels everywhere
        assert np.abs(compressed.data - pixels).max() < 3.0
        assert compressed.header["ORIGNAME"] == archive.name
    assert make_exposure(spec).archive == archive  # the same frame, the same bytes


def test_the_fast_fz_writer_gives_exactly_astropys_bytes() -> None:
    # fz_bytes splices the content cards in after astropy compresses a bare header; for a real
    # product header that must be byte for byte what astropy's own conversion writes.
    from send_test_images.exposure import fitsfiles
    from send_test_images.exposure.products import make_exposure

    exposure = make_exposure(
        ExposureSpec(site="tst", inst="inst", number=3, files="h", camera=get_camera("sq768"), seed=5,
                     date_obs=dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC))
    )
    pixels = np.random.default_rng(1).integers(0, 65535, (96, 128), dtype=np.uint16)
    header = exposure.header.copy()
    header["NAXIS1"], header["NAXIS2"] = 128, 96
    fast = fitsfiles.fz_bytes(pixels, header)
    reference = fitsfiles._write(
        fits.HDUList([fits.PrimaryHDU(), fitsfiles._compressed(pixels, fitsfiles._content(header))])
    )
    assert fast == reference


@pytest.mark.parametrize("shape", [(1, 5), (53, 37), (96, 128), (17, 800)])
def test_the_direct_rice_path_writes_astropys_bytes_for_any_shape(shape: tuple[int, int]) -> None:
    # Tiles of 16 rows: these shapes cover one short tile, a short last tile and exact tiles.
    from send_test_images.exposure import fitsfiles

    assert fitsfiles._rice is not None, "astropy's Rice codec has moved: the direct path is off"
    pixels = np.random.default_rng(sum(shape)).integers(0, 65536, shape, dtype=np.uint16)
    header = fits.Header([("OBJECT", "m31"), ("EXPTIME", 30.0)])
    fast = fitsfiles.fz_bytes(pixels, header)
    reference = fitsfiles._write(
        fits.HDUList([fits.PrimaryHDU(), fitsfiles._compressed(pixels, fitsfiles._content(header))])
    )
    assert fast == reference
    with fits.open(io.BytesIO(fast)) as hdul:
        assert np.array_equal(hdul[1].data, pixels)


@pytest.mark.parametrize("preset", [None, PTR_OBSERVATORY], ids=["default", "site"])
def test_the_small_fits_binned_from_the_header_text_is_the_one_binned_from_the_header(
    preset: Preset | None,
) -> None:
    # products bins the `.txt`'s cards instead of a parsed header: the files must not differ
    from send_test_images.exposure.binning import bin_header_text, bin_pixels
    from send_test_images.exposure.products import make_exposure

    spec = ExposureSpec(site="tst", inst="inst", number=3, files="h", camera=get_camera("sq4k"), seed=5,
                        date_obs=dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC), preset=preset)
    exposure = make_exposure(spec)
    pixels = full_range((4096, 4096))
    factor = small_bin_factor(pixels.shape, spec.camera.small_size)
    binned = bin_pixels(pixels, factor)
    text = bin_header_text(exposure.header_text, factor, binned.shape)
    for fmt in ("fz", "bz2"):
        assert fits_bytes(binned, None, fmt, text=text) == fits_bytes(*bin_frame(pixels, exposure.header, factor), fmt)
