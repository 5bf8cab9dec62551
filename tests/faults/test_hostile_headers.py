"""Nothing a header says can break the site: every read endpoint answers 2xx/4xx with strict JSON.

Issue 11: one `.txt` with `EXPTIME = inf` made `latest_images`, `/image/{base}` and the observe
page answer 502 for the whole site until the row was overwritten, so every later `up` failed.
Here many hostile header files go through real ingestion on the session site (a site of their
own, `hst`, so the other tests' listings are untouched), and every read endpoint must still
answer, with JSON that a strict parser (no NaN, no Infinity) accepts.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest

from send_test_images.localsite import LocalSite

from localsite_fixtures import make_jpg, upload, wait_for

pytestmark = pytest.mark.s3

SITE = "hst"
DATE_OBS = "2026-11-30T01:02:03"
READ_NUMBERS = ("EXPTIME", "ALTITUDE", "AZIMUTH", "AIRMASS", "CRVAL1", "CRVAL2", "RAHRS", "DEC",
                "SSTKNUM", "SSTKLEN")
"""Every card the service reads as a number (ingestion or the API)."""
READ_STRINGS = ("FILTER", "USERNAME", "USERID", "SMARTSTK", "SITEID", "INSTRUME", "DAY-OBS", "ORIGNAME")
HOSTILE_NUMBERS = ("inf", "-Infinity", "NaN", "1e400", "-1e400", "9" * 68, "0x10", "", "'1e999'")
HOSTILE_STRINGS = ("'it''s'", "'a\x00b'", "'Ünïcødé'", "'", "''''", "'\\'", "'</script>'", "'NaN'", "no")


def card(key: str, value: str) -> bytes:
    """One 80-byte card `KEY     = value`, cut or padded to exactly 80 bytes."""
    return (key.ljust(8) + "= " + value).encode("utf-8", "surrogateescape").ljust(80)[:80]


def raw_card(text: str | bytes) -> bytes:
    data = text.encode("latin-1") if isinstance(text, str) else text
    return data.ljust(80)[:80]


GOOD = {"DATE-OBS": f"'{DATE_OBS}'", "CRVAL1": "150.0", "CRVAL2": "-20.5", "EXPTIME": "30.0"}
END = raw_card("END")


def header(*cards: bytes, base: dict[str, str] | None = None, end: bool = True) -> bytes:
    good = [card(k, v) for k, v in (GOOD if base is None else base).items()]
    return b"".join([*good, *cards, END if end else b""])


def hostile_headers() -> list[bytes]:
    """Many headers, each hostile in one way: numbers, strings, structure, card edges, encoding."""
    files = []
    for key in READ_NUMBERS:
        for value in HOSTILE_NUMBERS:
            files.append(header(base={k: v for k, v in GOOD.items() if k != key}) [:-80]
                         + card(key, value) + END)
    for key in READ_STRINGS:
        for value in HOSTILE_STRINGS:
            files.append(header(card(key, value)))
    files += [
        header(end=False),  # missing END
        header(card("EXPTIME", "1"), card("EXPTIME", "inf"), card("CRVAL1", "nan")),  # duplicates
        header(card("FILTER", "'&'"), raw_card("CONTINUE  'more&'"), raw_card("CONTINUE  'inf'")),
        header(raw_card("COMMENT " + "x" * 72), raw_card("HISTORY inf"), raw_card(" " * 80)),
        header(b"EXPTIME = inf"),  # a short last card
        header(b"EXPTIME = " + b"9" * 70),  # a card that is exactly 80 bytes, all value
        header()[:-1],  # one byte short of whole cards
        header() + b"X",  # one byte over
        header(raw_card(b"\xff\xfe\x00\x01" * 20)),  # not UTF-8, NUL bytes
        header(raw_card("EXPTIME =  'unterminated")),
        header(raw_card("DATE-OBS= '0001-01-01T00:00:00'")),  # the earliest date there is
        header(raw_card("DATE-OBS= '1969-12-31T23:59:59.999999'")),
        header(raw_card("DATE-OBS= '2026-02-30T00:00:00'")),
        header(raw_card("=" * 80), raw_card("'" * 80), raw_card("/" * 80)),
        b"",
        END,
        b"\x00" * 800,
        "".join(chr(c) for c in range(0x80, 0x100)).encode("utf-8") * 4,
    ]
    return files


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def strict_json(answer: httpx.Response) -> Any:
    """The body as JSON that any client can read: NaN, Infinity and -Infinity are refused."""
    return json.loads(answer.text, parse_constant=_refuse_constant)


def assert_answers(answer: httpx.Response, *, json_body: bool) -> None:
    assert answer.status_code < 500, (answer.request.url, answer.status_code, answer.text[:200])
    if json_body and answer.status_code == 200:
        strict_json(answer)


def test_hostile_header_values_never_break_a_read(local_site: LocalSite) -> None:
    api = local_site.api_url
    files = hostile_headers()
    bases = [f"{SITE}-hostile-20261130-{number:08d}" for number in range(1, len(files) + 1)]
    jpg = make_jpg((8, 8))
    with httpx.Client() as client:  # one connection each way: ~550 uploads stay quick
        for base, data in zip(bases, files, strict=True):
            for name, body in ((base + "-EX00.txt", data), (base + "-EX10.jpg", jpg)):
                presigned = client.post(api + "/upload", content=json.dumps({"object_name": name}))
                stored = client.post(presigned.json()["url"], data=presigned.json()["fields"],
                                     files={"file": (name, body)})
                assert stored.status_code == 204, name
    info = f"{SITE}-hostile-20261130-99999999"
    assert upload(api, info + "-EX00.txt", files[0], s3_directory="info-images").status_code == 204
    assert upload(api, info + "-EX10.jpg", make_jpg((8, 8)), s3_directory="info-images").status_code == 204
    assert local_site.wait_idle(60.0)

    listed = httpx.get(f"{api}/{SITE}/latest_images/1000")
    assert_answers(listed, json_body=True)
    assert {row["base_filename"] for row in strict_json(listed)} == set(bases)
    for path in (f"/{SITE}/latest_images/1", f"/site/{SITE}/observe.json", f"/recentuploads?site={SITE}",
                 "/recentuploads", f"/infoimage/{SITE}/1", "/openapi.json", "/health"):
        assert_answers(httpx.get(api + path), json_body=True)
    assert_answers(httpx.get(f"{api}/site/{SITE}/observe"), json_body=False)
    for base in bases:
        assert_answers(httpx.get(f"{api}/image/{base}"), json_body=True)
        assert_answers(httpx.get(f"{api}/fitsheader/{base}"), json_body=True)
        assert_answers(httpx.get(f"{api}/fitsheader/{base}/"), json_body=True)

    # and the site still takes a well-formed exposure, which shows first in its listing
    good = f"{SITE}-hostile-20261130-99999998"
    # a day after now: later than every row, including those whose header was refused and which
    # sort by the time they arrived (a fixed 23:00 today failed every run after 23:00 UTC), and
    # not so far ahead that it outranks other tests' sites on the shared local site
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    later = {**GOOD, "DATE-OBS": f"'{tomorrow}'"}
    assert upload(api, good + "-EX00.txt", header(base=later)).status_code == 204
    assert upload(api, good + "-EX10.jpg", make_jpg((8, 8))).status_code == 204
    newest = wait_for(lambda: strict_json(httpx.get(f"{api}/{SITE}/latest_images/1")), "the good image")
    assert newest[0]["base_filename"] == good
    assert newest[0]["exposure_time"] == 30.0
