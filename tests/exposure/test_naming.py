"""File names: the service drops what does not parse, so every rule here is a lost upload."""

from __future__ import annotations

import pytest

from send_test_images.errors import InvalidName, UsageError
from send_test_images.exposure import naming


def test_a_name_is_built_from_its_parts_and_parses_back() -> None:
    name = naming.FileName("tst", "inst", "20261124", 42, "EX", "10", "fits.fz")
    assert str(name) == "tst-inst-20261124-00000042-EX10.fits.fz"
    assert name.base == "tst-inst-20261124-00000042"
    assert naming.parse(str(name)) == name


@pytest.mark.parametrize(
    ("ext", "kind"), [("txt", "txt"), ("jpg", "jpg"), ("fits", "fits"), ("fits.fz", "fits"), ("fits.bz2", "fits")]
)
def test_compressed_fits_count_as_fits(ext: str, kind: str) -> None:
    assert naming.parse(f"tst-inst-20261124-00000001-EX00.{ext}").kind == kind


def test_sibling_names_share_the_base() -> None:
    header = naming.parse("tst-inst-20261124-00000007-EX00.txt")
    jpg = header.with_(level="10", ext="jpg")
    assert str(jpg) == "tst-inst-20261124-00000007-EX10.jpg"
    assert jpg.base == header.base


def test_lower_case_data_type_is_accepted_as_sent_and_uppercased_from_the_command_line() -> None:
    assert naming.parse("tst-inst-20261124-00000001-e00.txt").data_type == "e"
    assert naming.normalize_data_type("ep") == "EP"


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ("tst-in-st-20261124-00000001-EX10.jpg", "use {site}"),  # a '-' inside the instrument
        ("tst-inst-20261124-0000001-EX10.jpg", "use {site}"),  # 7 digits
        ("tst-inst-20261324-00000001-EX10.jpg", "date '20261324'"),
        ("tst-inst-20261124-00000001-EX10.png", "extension 'png'"),
        ("tst-inst-20261124-00000001-EX99.jpg", "reduction level '99'"),
        ("ts-inst-20261124-00000001-EX10.jpg", "site 'ts'"),
        ("../../etc-inst-20261124-00000001-EX10.jpg", "use {site}"),
        ("tst-inst-20261124-00000001-EX10.jpg\x00", "use {site}"),
    ],
)
def test_bad_names_are_refused_with_the_rule_they_break(bad: str, fragment: str) -> None:
    with pytest.raises(InvalidName) as info:
        naming.parse(bad)
    assert fragment in str(info.value)
    assert repr(bad) in str(info.value)


def test_base_filename_longer_than_the_database_column_is_refused() -> None:
    with pytest.raises(InvalidName, match="at most 29"):
        naming.make_base("abcdef", "camera1234", "20261124", 1)


@pytest.mark.parametrize("site", ["t-s", "ab", "abcdefg", "tst/", "tst ", ""])
def test_bad_sites_name_the_value_and_what_is_allowed(site: str) -> None:
    with pytest.raises(UsageError, match=r"site .* is not allowed: use 3 to 6 letters or digits"):
        naming.check_site(site)


@pytest.mark.parametrize("number", [-1, 100_000_000, True])
def test_file_numbers_have_eight_digits(number: int) -> None:
    with pytest.raises(InvalidName, match="use 0 to 99999999"):
        naming.check_number(number)


@pytest.mark.parametrize("data_type", ["EXP", "E1", "", "é"])
def test_data_type_is_one_or_two_letters(data_type: str) -> None:
    with pytest.raises(InvalidName, match="use 1 or 2 letters"):
        naming.normalize_data_type(data_type)
