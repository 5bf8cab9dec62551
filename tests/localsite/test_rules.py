"""The pure rules of the real service: where keys go, when images expire, which flag a file sets."""

from __future__ import annotations

import pytest

from send_test_images.exposure import naming
from send_test_images.localsite.headertext import parse_header_text, required_fields
from send_test_images.localsite.rules import (
    expire_timestamp,
    file_flag,
    header_values,
    info_image_place,
    makes_thumbnail,
    split_key,
)

UPLOADED = 1_800_000_000.0


def test_keys_split_into_directory_and_bare_name() -> None:
    assert split_key("data/a.jpg") == ("data", "a.jpg")
    assert split_key("info-images/a.jpg") == ("info-images", "a.jpg")
    assert split_key("raw/a.jpg") is None
    assert split_key("data/sub/a.jpg") is None
    assert split_key("data/") is None


@pytest.mark.parametrize(
    ("name", "lifetime"),
    [
        ("tst-inst-20261124-00000001-EP10.jpg", 300.0),
        ("tst-inst-20261124-00000001-EF10.jpg", 300.0),
        ("mrc-inst-20261124-00000001-EP10.jpg", 7 * 86_400.0),
        ("mrc-inst-20261124-00000001-EF10.jpg", 86_400.0),
    ],
)
def test_experimental_and_focus_images_expire(name: str, lifetime: float) -> None:
    assert expire_timestamp(naming.parse(name), UPLOADED) == UPLOADED + lifetime


def test_normal_exposures_never_expire() -> None:
    assert expire_timestamp(naming.parse("tst-inst-20261124-00000001-EX10.jpg"), UPLOADED) is None


@pytest.mark.parametrize(
    ("name", "flag"),
    [
        ("tst-inst-20261124-00000001-EX10.jpg", "jpg_medium_exists"),
        ("tst-inst-20261124-00000001-EX13.jpg", "jpg_medium_exists"),
        ("tst-inst-20261124-00000001-EX11.jpg", "jpg_small_exists"),
        ("tst-inst-20261124-00000001-EX00.fits.bz2", "fits_01_exists"),
        ("tst-inst-20261124-00000001-EX01.fits.bz2", "fits_01_exists"),
        ("tst-inst-20261124-00000001-EX10.fits.bz2", "fits_10_exists"),
        ("tst-inst-20261124-00000001-EX10.txt", None),
    ],
)
def test_each_file_sets_its_own_flag(name: str, flag: str | None) -> None:
    assert file_flag(naming.parse(name)) == flag


def test_only_the_10_jpg_makes_a_thumbnail() -> None:
    assert makes_thumbnail(naming.parse("tst-inst-20261124-00000001-EX10.jpg"))
    assert not makes_thumbnail(naming.parse("tst-inst-20261124-00000001-EX13.jpg"))
    assert not makes_thumbnail(naming.parse("tst-inst-20261124-00000001-EX10.fits.bz2"))


def test_header_values_keep_strings_and_turn_numbers_into_floats() -> None:
    text = "".join(f"{card:<80}" for card in [
        "DATE-OBS= '2026-11-24T01:02:03.5'", "CRVAL1  =                 15.0", "CRVAL2  =                -20.5",
        "EXPTIME =                 30.0", "FILTER  = 'L       '", "AIRMASS = 'n/a'", "END",
    ])
    header = parse_header_text(text)
    # AIRMASS 'n/a' cannot go into the real float column: the real update fails, so ours refuses
    # (update_header_data, LCOGT/ptr_data lambda_service/db.py); without it the header is read
    assert required_fields(header) is None
    del header["AIRMASS"]
    pointing = required_fields(header)
    assert pointing is not None
    values = header_values(header, pointing, "EX")
    assert values["data_type"] == "EX"
    assert (values["right_ascension"], values["declination"]) == (15.0, -20.5)  # degrees, as stored
    assert (values["exposure_time"], values["filter_used"], values["airmass"]) == (30.0, "L", None)
    assert values["capture_date"] == pointing.date_obs.timestamp()


def test_an_info_image_is_placed_by_its_name_cut_as_text() -> None:
    assert info_image_place("tst-inst-20261124-00000001-EX10.jpg") == ("tst", "tst-inst-20261124-00000001")
    assert info_image_place("plain") == ("plain", "plain")
