"""A huge `.txt` header costs the site at most `MAX_HEADER_BYTES` of reading, storing and parsing.

Issue 11: an 80 MB header made the page's JSON take 2-3 s and `POST /upload` up to 5 s, because
ingestion downloaded, parsed and stored all of it, and every page poll parsed it again. The test
asserts the work done (what was read and stored), not the time it took.
"""

from __future__ import annotations

import httpx
import pytest

from send_test_images.localsite import LocalSite
from send_test_images.localsite.headertext import CARD_LENGTH, MAX_HEADER_BYTES, MAX_HEADER_CARDS
from send_test_images.localsite.s3direct import DirectS3
from send_test_images.localsite.s3server import DEFAULT_BUCKET, DEFAULT_REGION, load_or_make_credentials

from localsite_fixtures import make_jpg, upload, wait_for

pytestmark = pytest.mark.s3

SITE = "big"
BASE = f"{SITE}-inst-20261130-00000001"
TOTAL_BYTES = 8 * MAX_HEADER_BYTES
"""Eight times the cap: big enough that reading it all would show, small enough to send quickly."""


def card(text: str) -> bytes:
    return text.encode("ascii").ljust(CARD_LENGTH)


def test_only_the_first_mib_of_a_huge_header_is_read(local_site: LocalSite) -> None:
    api = local_site.api_url
    first = b"".join(card(c) for c in ("DATE-OBS= '2026-11-30T01:02:03'", "CRVAL1  = 150.0",
                                       "CRVAL2  = -20.5", "EXPTIME = 12.5"))
    filler_cards = (TOTAL_BYTES - len(first)) // CARD_LENGTH - 2
    filler = b"".join(card(f"F{n % 10_000_000:07d}= {n}") for n in range(filler_cards))
    data = first + filler + card("LATECARD= 'past the cap'") + card("END")
    assert len(data) > 7 * MAX_HEADER_BYTES
    assert upload(api, BASE + "-EX00.txt", data).status_code == 204
    assert upload(api, BASE + "-EX10.jpg", make_jpg((8, 8))).status_code == 204

    row = wait_for(lambda: httpx.get(f"{api}/image/{BASE}").json() if
                   httpx.get(f"{api}/image/{BASE}").status_code == 200 else None, "the big header's row")
    assert row["exposure_time"] == 12.5  # the cards that fit are ingested
    stored = httpx.get(f"{api}/fitsheader/{BASE}")
    header = stored.json()
    assert "LATECARD" not in header
    assert len(header) <= MAX_HEADER_CARDS
    assert len(stored.content) < 2 * MAX_HEADER_BYTES  # what every later read parses
    page = httpx.get(f"{api}/site/{SITE}/observe.json")
    assert page.status_code == 200
    assert [card["base_filename"] for card in page.json()["cards"]] == [BASE]
    assert len(page.content) < 10_000  # the page never carries the header itself


def test_a_ranged_get_reads_no_more_than_asked(local_site: LocalSite) -> None:
    keys = load_or_make_credentials(local_site.data_dir / "s3.json")
    with DirectS3(local_site.s3_url, DEFAULT_BUCKET, keys.access_key, keys.secret_key, DEFAULT_REGION) as s3:
        s3.put("test/ranged.bin", b"x" * 3000, "application/octet-stream")
        s3.put("test/empty.bin", b"", "application/octet-stream")
        assert s3.get("test/ranged.bin", max_bytes=1000) == b"x" * 1000
        assert s3.get("test/ranged.bin", max_bytes=5000) == b"x" * 3000
        assert s3.get("test/empty.bin", max_bytes=1000) == b""
        assert s3.get("test/ranged.bin") == b"x" * 3000
