"""What the observe page draws: the strip's rules as plain data (`observe.py`), no server needed."""

from __future__ import annotations

import json
from typing import Any

from send_test_images.localsite.observe import file_url, fold_smartstacks, make_card, strip


def row(base: str, capture: float, **header: Any) -> dict[str, Any]:
    return {
        "base_filename": base, "site": "tst", "s3_directory": "data", "data_type": "EX",
        "capture_date": capture, "exposure_time": 10.0, "filter_used": "R",
        "jpg_medium_key": f"data/{base}-EX10.jpg", "jpg_small_key": f"data/{base}-EX11.jpg",
        "header": json.dumps({k: str(v) for k, v in header.items()}),
    }


def test_a_smartstack_is_one_card_showing_its_highest_sstknum() -> None:
    rows = [  # newest first, as latest_images gives them
        row("b4", 40, SMARTSTK="s1", SSTKNUM=1, SSTKLEN=5),
        row("b3", 30, SMARTSTK="s1", SSTKNUM=2, SSTKLEN=5),  # arrived out of order
        row("b2", 20, SMARTSTK="no", SSTKNUM=0),
        row("b1", 10, SMARTSTK="s1", SSTKNUM=0, SSTKLEN=5),
    ]
    cards = strip(rows, lambda prefix: [], limit=10)
    assert [c["base_filename"] for c in cards] == ["b3", "b2"]
    assert cards[0]["smartstack"] == {"id": "s1", "frame": 2, "length": 5, "frames_arrived": 3}
    assert cards[1]["smartstack"] is None


def test_a_real_sites_float_sstklen_is_the_stacks_length() -> None:
    # ptr-observatory writes SSTKLEN as a float (`--like ptr-observatory` does too); the UI parseInts it
    rows = [row("b2", 20, SMARTSTK="301126060000", SSTKNUM=1, SSTKLEN=5.0),
            row("b1", 10, SMARTSTK="301126060000", SSTKNUM=0, SSTKLEN=5.0)]
    cards = strip(rows, lambda prefix: [], limit=10)
    assert cards[0]["smartstack"]["length"] == 5


def test_a_stack_without_sstklen_counts_its_frames() -> None:
    cards = fold_smartstacks([make_card(row(f"b{i}", i, SMARTSTK="s9", SSTKNUM=i), []) for i in range(3)])
    assert cards[0]["smartstack"]["length"] == 3


def test_cards_offer_fits_files_for_download_and_link_jpgs_through_the_site() -> None:
    keys = ["data/b1-EX00.txt", "data/b1-EX01.fits.fz", "data/b1-EX10.fits.bz2", "data/b1-EX10.jpg"]
    card = make_card(row("b1", 1), keys)
    assert [f["name"] for f in card["files"]] == ["b1-EX01.fits.fz", "b1-EX10.fits.bz2"]
    assert card["files"][0]["url"] == "/download/data/b1-EX01.fits.fz"
    assert card["thumbnail_url"] == "/download/data/b1-EX11.jpg"
    assert file_url("info-images/a b.jpg") == "/download/info-images/a%20b.jpg"


def test_the_strip_is_capped() -> None:
    rows = [row(f"b{i}", 100 - i) for i in range(10)]
    assert len(strip(rows, lambda prefix: [], limit=4)) == 4


def test_stack_cards_read_from_the_header_text_fold_as_the_parsed_header_would() -> None:
    tricky = 's"1, "SSTKNUM": "9"}'  # a stack id that looks like more cards
    rows = [row("b3", 30, OBJECT='"SMARTSTK": "x"', SMARTSTK=tricky, SSTKNUM=1, SSTKLEN=2),
            row("b2", 20, SMARTSTK=tricky, SSTKNUM=0, SSTKLEN=2),
            row("b1", 10, SMARTSTK="NO")]
    cards = strip(rows, lambda prefix: [], limit=10)
    assert [c["base_filename"] for c in cards] == ["b3", "b1"]
    assert cards[0]["smartstack"] == {"id": tricky, "frame": 1, "length": 2, "frames_arrived": 2}
    assert cards[1]["smartstack"] is None


def test_a_later_page_is_folded_over_every_row_before_it_and_lists_files_of_its_cards_only() -> None:
    rows = [row(f"b{i}", 100 - i, SMARTSTK="s1" if i in (1, 2) else "no", SSTKNUM=2 - i) for i in range(6)]
    asked: list[str] = []
    page = strip(rows, lambda prefix: asked.append(prefix) or [f"{prefix}EX10.fits.fz"], limit=2, offset=2)
    assert [c["base_filename"] for c in page] == ["b3", "b4"]  # b1+b2 are one card on the first page
    assert asked == ["data/b3-", "data/b4-"]
    assert page[0]["files"] == [{"name": "b3-EX10.fits.fz", "url": "/download/data/b3-EX10.fits.fz"}]


def test_cards_carry_fwhm_and_sky_from_the_header() -> None:
    card = make_card(row("b1", 1, FWHMASEC="2.93", FWHM="1.46", SEPSKY="577.0"), [])
    assert (card["fwhm_arcsec"], card["fwhm_pixels"], card["sky_adu"]) == (2.93, 1.46, 577.0)
    assert make_card(row("b2", 2), [])["fwhm_arcsec"] is None
