"""What the observe page draws: the strip's rules as plain data, and the page routes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from send_test_images.localsite import LocalSite
from send_test_images.localsite.observe import file_url, fold_smartstacks, make_card, strip

from localsite_fixtures import make_header_text, make_jpg, upload, wait_for


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


@pytest.mark.s3
def test_root_goes_to_a_site_with_data_and_the_page_lists_it(local_site: LocalSite) -> None:
    api, base = local_site.api_url, "obs-inst-20261123-00000001"
    header = make_header_text(DATE_OBS="2030-01-01T00:00:00", CRVAL1=1.0, CRVAL2=2.0)
    upload(api, base + "-EX00.txt", header)
    upload(api, base + "-EX10.jpg", make_jpg())
    wait_for(lambda: any(c["base_filename"] == base for c in
                         httpx.get(f"{api}/site/obs/observe.json").json()["cards"]), "the card")

    root = httpx.get(api + "/")
    assert root.status_code == 307
    assert root.headers["location"] == "/site/obs/observe"  # the newest capture wins
    page = httpx.get(api + "/site/obs/observe")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'href="/site/obs/observe"' in page.text
    assert "/static/observe.js" in page.text
    assert httpx.get(api + "/static/observe.js").status_code == 200
    assert httpx.get(api + "/static/observe.css").status_code == 200


@pytest.mark.s3
def test_a_site_name_that_could_carry_markup_is_refused(local_site: LocalSite) -> None:
    for path in ("/site/<script>/observe", "/site/<script>/observe.json"):
        refused = httpx.get(local_site.api_url + path)
        assert refused.status_code == 400
        assert refused.headers["content-type"].startswith("text/plain")
        assert refused.text.startswith("site '<script>' is not allowed")
