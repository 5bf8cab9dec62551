"""Header text is read by the real service's string rules, quirks included (protocol §3)."""

from __future__ import annotations

import datetime as dt

import pytest
from astropy.io import fits

from send_test_images.localsite.headertext import parse_header_bytes, parse_header_text, required_fields


def text(*cards: tuple[str, object] | tuple[str, object, str]) -> str:
    header = fits.Header()
    for card in cards:
        header.append(card)
    return str(header)


def test_string_values_come_from_between_the_quotes_without_padding() -> None:
    parsed = parse_header_text(text(("FILTER", "L", "filter name"), ("OBJECT", "M 31")))
    assert parsed == {"FILTER": "L", "OBJECT": "M 31", "END": ""}  # END kept: scan_header_file (ptr_data)


def test_a_value_written_with_its_own_quotes_reads_back_empty() -> None:
    assert parse_header_text(text(("FILTER", "'L'")))["FILTER"] == ""


def test_numbers_stay_strings_and_lose_their_comment() -> None:
    parsed = parse_header_text(text(("EXPTIME", 30.5, "it's in seconds / really"), ("SSTKNUM", 3)))
    assert parsed == {"EXPTIME": "30.5", "SSTKNUM": "3", "END": ""}


def test_a_slash_inside_a_quoted_value_is_kept() -> None:
    assert parse_header_text(text(("ORIGNAME", "a/b.fits")))["ORIGNAME"] == "a/b.fits"


def test_reading_stops_at_end() -> None:
    header_text = text(("FILTER", "L")) + text(("FILTER", "R"))  # a second header after END
    assert parse_header_text(header_text)["FILTER"] == "L"


def test_later_cards_replace_earlier_ones() -> None:
    cards = fits.Card("FILTER", "L").image + fits.Card("FILTER", "R").image
    assert parse_header_text(cards)["FILTER"] == "R"


def pointing_of(**cards: object) -> object:
    header_text = text(*((key.replace("_", "-"), value) for key, value in cards.items()))
    return required_fields(parse_header_text(header_text))


def test_pointing_from_wcs_gives_ra_in_degrees_as_stored() -> None:
    """CRVAL1 unconverted: LCOGT/ptr_data `lambda_service/db.py` `update_header_data`."""
    pointing = pointing_of(DATE_OBS="2026-11-24T03:04:05.5", CRVAL1=150.0, CRVAL2=-20.5)
    assert pointing is not None
    assert pointing.right_ascension == pytest.approx(150.0)
    assert pointing.dec_degrees == pytest.approx(-20.5)
    assert pointing.date_obs == dt.datetime(2026, 11, 24, 3, 4, 5, 500_000, tzinfo=dt.UTC)


def test_pointing_falls_back_to_rahrs_and_dec() -> None:
    pointing = pointing_of(DATE_OBS="2026-11-24T03:04:05", RAHRS=7.25, DEC=41.0)
    assert pointing is not None
    assert (pointing.right_ascension, pointing.dec_degrees) == (7.25, 41.0)


@pytest.mark.parametrize(
    "cards",
    [
        {"CRVAL1": 1.0, "CRVAL2": 2.0},
        {"DATE_OBS": "2026-11-24T03:04:05", "CRVAL2": 2.0},
        {"DATE_OBS": "2026-11-24T03:04:05", "CRVAL1": 1.0},
        {"DATE_OBS": "24/11/2026", "CRVAL1": 1.0, "CRVAL2": 2.0},
        {"DATE_OBS": "2026-11-24T03:04:05", "CRVAL1": "east", "CRVAL2": 2.0},
    ],
)
def test_headers_without_date_ra_or_dec_are_not_ingested(cards: dict[str, object]) -> None:
    assert pointing_of(**cards) is None


def test_the_80th_character_of_a_card_never_counts() -> None:
    """`scan_header_file` slices `[10:-1]`: a number filling the card loses its last digit."""
    card = "EXPTIME = " + "1" * 70
    assert parse_header_text(card + "END" + " " * 77)["EXPTIME"] == "1" * 69


def test_blank_cards_are_kept_under_an_empty_key() -> None:
    assert parse_header_text(" " * 80 + "END" + " " * 77) == {"": "", "END": ""}


def test_a_card_that_is_not_utf8_fails_the_whole_header() -> None:
    good = text(("FILTER", "L")).encode()
    assert parse_header_bytes(good) == {"FILTER": "L", "END": ""}
    assert parse_header_bytes(b"OBJECT  = '\xff'" + b" " * 64 + good) is None


@pytest.mark.parametrize(("date_obs", "expected"), [
    ("2026-11-24T03:04:05", dt.datetime(2026, 11, 24, 3, 4, 5, tzinfo=dt.UTC)),
    ("2026-11-24 03:04:05.123456789", dt.datetime(2026, 11, 24, 3, 4, 5, 123456, tzinfo=dt.UTC)),
    ("2026-11-24", dt.datetime(2026, 11, 24, tzinfo=dt.UTC)),
    ("2026-11-24T03:04", dt.datetime(2026, 11, 24, 3, 4, tzinfo=dt.UTC)),
    ("2026-11-24T03:04:05Z", dt.datetime(2026, 11, 24, 3, 4, 5, tzinfo=dt.UTC)),
    ("24/11/2026", None),
    ("2026-13-01T00:00:00", None),
    ("", None),
])
def test_date_obs_is_read_as_postgresql_reads_a_timestamp(date_obs: str, expected: dt.datetime | None) -> None:
    """`update_header_data` (ptr_data db.py) hands `DATE-OBS` with T -> space to PostgreSQL."""
    pointing = required_fields({"DATE-OBS": date_obs, "CRVAL1": "1", "CRVAL2": "2"})
    assert (pointing.date_obs if pointing else None) == expected


@pytest.mark.parametrize("cards", [
    {"CRVAL1": "", "RAHRS": "7.25"},  # present but empty: PostgreSQL fails, RAHRS is not tried
    {"CRVAL1": "1", "EXPTIME": ""},  # an empty number in a float column fails the update
    {"CRVAL1": "1", "AIRMASS": "n/a"},
    {"CRVAL1": "1_000"},  # Python reads it, PostgreSQL does not
])
def test_where_the_real_ingestion_fails_the_header_is_not_ingested(cards: dict[str, str]) -> None:
    assert required_fields({"DATE-OBS": "2026-11-24T03:04:05", "CRVAL2": "2", **cards}) is None
