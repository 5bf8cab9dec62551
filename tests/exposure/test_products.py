"""One exposure -> its files: names, order, sizes, sky positions, reproducibility, bad specs."""

from __future__ import annotations

import datetime as dt
import io
import math
import re

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from PIL import Image

from send_test_images.errors import UsageError
from send_test_images.exposure.naming import parse
from send_test_images.exposure.products import make_exposure, make_products
from send_test_images.exposure.profiles import get_camera
from send_test_images.exposure.spec import ExposureSpec

WHEN = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)


def spec(**changes: object) -> ExposureSpec:
    fields: dict[str, object] = {
        "site": "tst", "inst": "cam1", "number": 17, "files": "hjtfF", "data_type": "EX",
        "camera": get_camera("sq1k"), "seed": 3, "date_obs": WHEN,
    }
    fields.update(changes)
    return ExposureSpec(**fields)  # type: ignore[arg-type]


def open_fits(data: bytes) -> fits.HDUList:
    return fits.open(io.BytesIO(data))


def test_all_files_come_in_upload_order_with_valid_names() -> None:
    names = [str(p.name) for p in make_products(spec())]
    base = "tst-cam1-20261123-00000017-EX"
    assert names == [f"{base}00.txt", f"{base}10.jpg", f"{base}11.jpg",
                     f"{base}10.fits.fz", f"{base}00.fits.fz"]
    assert [str(parse(name)) for name in names] == names


def test_only_the_requested_files_are_made() -> None:
    names = [str(p.name) for p in make_products(spec(files="Fj", fits_format="bz2"))]
    assert [name.rsplit("-", 1)[1] for name in names] == ["EX10.jpg", "EX00.fits.bz2"]


def test_previews_have_the_sizes_the_web_ui_expects() -> None:
    products = make_products(spec(files="jt"))
    with Image.open(io.BytesIO(products[0].data)) as medium:
        assert max(medium.size) == 768
    with Image.open(io.BytesIO(products[1].data)) as thumbnail:
        assert thumbnail.height == 128


def test_small_fits_is_about_768_pixels_and_smaller_than_the_large_one() -> None:
    small, large = make_products(spec(files="fF"))
    with open_fits(small.data) as s, open_fits(large.data) as f:
        small_shape, large_shape = s[1].data.shape, f[1].data.shape
        assert large_shape == (1024, 1024)
        assert 384 < max(small_shape) <= 768
        assert s[1].header["XBINNING"] == 1024 // max(small_shape)
        assert s[1].header["FILTER"] == f[1].header["FILTER"]
    assert len(small.data) < len(large.data)


def test_large_fits_carries_the_same_keywords_as_the_txt() -> None:
    txt, large = make_products(spec(files="hF"))
    text_header = fits.Header.fromstring(txt.data.decode("ascii"))
    with open_fits(large.data) as hdul:
        stored = hdul[1].header
        for key in ("DATE-OBS", "DAY-OBS", "CRVAL1", "CRVAL2", "FILTER", "USERID", "SEED"):
            assert stored[key] == text_header[key]


def tan_pixel_to_sky(header: fits.Header, x: float, y: float) -> tuple[float, float]:
    """Gnomonic deprojection written out by hand (Calabretta & Greisen 2002), for 0-based x/y."""
    xi = math.radians((x + 1 - header["CRPIX1"]) * header["CDELT1"])
    eta = math.radians((y + 1 - header["CRPIX2"]) * header["CDELT2"])
    ra0, dec0 = math.radians(header["CRVAL1"]), math.radians(header["CRVAL2"])
    denominator = math.cos(dec0) - eta * math.sin(dec0)
    ra = ra0 + math.atan2(xi, denominator)
    dec = math.atan2(math.sin(dec0) + eta * math.cos(dec0), math.hypot(xi, denominator))
    return math.degrees(ra) % 360, math.degrees(dec)


def test_truth_positions_agree_with_the_header_wcs_and_the_pixels() -> None:
    exposure = make_exposure(spec(files="hF", truth=True))
    assert exposure.truth is not None
    table = Table.read(exposure.truth.data.decode("utf-8"), format="ascii.ecsv")
    assert {"x", "y", "ra", "dec", "flux"} <= set(table.colnames)
    assert len(table) > 10
    header = fits.Header.fromstring(exposure.products[0].data.decode("ascii"))
    for row in table[:20]:
        ra, dec = tan_pixel_to_sky(header, float(row["x"]), float(row["y"]))
        assert ra == pytest.approx(row["ra"], abs=1e-7)
        assert dec == pytest.approx(row["dec"], abs=1e-7)
    with open_fits(exposure.products[1].data) as hdul:
        pixels = hdul[1].data
        wcs = WCS(hdul[1].header).celestial
    brightest = table[np.argmax(table["flux"])]
    x, y = wcs.all_world2pix(brightest["ra"], brightest["dec"], 0)
    star = pixels[round(float(y)), round(float(x))]
    assert star >= np.percentile(pixels, 99.9)  # the brightest star sits where the WCS says (maybe saturated)


def test_moving_right_in_the_image_moves_west() -> None:
    header = make_exposure(spec(files="h")).header
    ra_left, _ = tan_pixel_to_sky(header, 0, 512)
    ra_right, _ = tan_pixel_to_sky(header, 1023, 512)
    assert (ra_left - ra_right) % 360 < 180  # RA decreases to the right


def test_truth_is_not_an_upload_and_only_made_when_asked() -> None:
    without = make_exposure(spec(files="h"))
    with_truth = make_exposure(spec(files="h", truth=True))
    assert without.truth is None
    assert with_truth.truth is not None
    assert with_truth.truth.name == "tst-cam1-20261123-00000017-truth.ecsv"
    assert [p.name for p in with_truth.products] == [p.name for p in without.products]


@pytest.mark.parametrize("fmt", ["fz", "bz2"])
def test_same_spec_gives_identical_bytes(fmt: str) -> None:
    first = make_products(spec(fits_format=fmt))
    again = make_products(spec(fits_format=fmt))
    assert [p.data for p in first] == [p.data for p in again]


def test_another_seed_gives_other_pixels() -> None:
    one = make_products(spec(files="F", seed=1))[0]
    two = make_products(spec(files="F", seed=2))[0]
    with open_fits(one.data) as a, open_fits(two.data) as b:
        assert not np.array_equal(a[1].data, b[1].data)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"files": "hjx"}, "files 'hjx' is not allowed: use letters from hjtfF"),
        ({"files": ""}, "files '' is not allowed"),
        ({"files": "hh"}, "name each letter"),
        ({"fits_format": "gz"}, "FITS format 'gz' is not allowed"),
        ({"smartstack": ("s1", 5, 5)}, "smartstack index 5 of length 5 is not allowed"),
        ({"smartstack": ("no", 0, 2)}, "smartstack id 'no' is not allowed"),
        ({"user_name": "O'Brien"}, "user name \"O'Brien\" is not allowed"),
        ({"user_id": "x" * 69}, "is not allowed: use 1 to 68 printable ASCII characters"),
        ({"date_obs": dt.datetime(2026, 1, 1)}, "has no time zone"),
        ({"ra": 10.0}, "needs both ra and dec"),
        ({"ra": 400.0, "dec": 0.0}, "ra 400.0 is not allowed"),
        ({"seed": -1}, "seed -1 is not allowed"),
        ({"site": "a-b"}, "site 'a-b' is not allowed"),
        ({"number": 10**8}, "file number 100000000 is not allowed"),
    ],
)
def test_bad_specs_fail_early_naming_the_value(changes: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        spec(**changes)
