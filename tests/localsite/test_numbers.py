"""`POST /numbers/reserve`: the local site hands out file numbers no two senders share.

Two machines (two state folders) sending for one camera used to start at the same number and
silently overwrite each other's files; through one site they now ask it, and its answer is the
only one anybody gets.
"""

from __future__ import annotations

import itertools
import secrets
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from send_test_images.localsite import LocalSite
from send_test_images.localsite.rules import next_numbers

from localsite_fixtures import make_header_text, recent_keys, upload, wait_for

pytestmark = pytest.mark.s3


def _inst() -> str:
    return "n" + secrets.token_hex(2)  # the base filename must stay within 29 characters


def reserve(api_url: str, **body: object) -> httpx.Response:
    return httpx.post(f"{api_url}/numbers/reserve", json=body, timeout=10)


def test_concurrent_requests_get_disjoint_ranges_that_follow_each_other(local_site: LocalSite) -> None:
    inst = _inst()
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: reserve(local_site.api_url, site="tst", inst=inst, count=25), range(32)))
    assert {a.status_code for a in answers} == {200}
    ranges = sorted((a.json()["start"], a.json()["stop"]) for a in answers)
    assert ranges[0][0] == 1
    assert all(stop == next_start for (_, stop), (next_start, _) in itertools.pairwise(ranges))
    assert ranges[-1][1] == 1 + 32 * 25


def test_the_answer_starts_after_the_callers_counter_and_after_what_is_stored(local_site: LocalSite) -> None:
    inst = _inst()
    assert reserve(local_site.api_url, site="tst", inst=inst, count=3, after=40).json()["start"] == 41
    # a file sent without asking (as a real site's uploader does) still moves the numbers on
    name = f"tst-{inst}-20261124-00000500-EX00.txt"
    assert upload(local_site.api_url, name, make_header_text()).status_code == 204
    wait_for(lambda: f"data/{name}" in recent_keys(local_site.api_url, "tst") or None, "the file to be stored")
    assert reserve(local_site.api_url, site="tst", inst=inst, count=1).json()["start"] == 501


def test_a_camera_whose_numbers_are_used_up_is_told_so(local_site: LocalSite) -> None:
    inst = _inst()
    answer = reserve(local_site.api_url, site="tst", inst=inst, count=2, after=99_999_998)
    assert answer.status_code == 409
    assert f"no room for 2 more file numbers for tst-{inst}" in answer.text


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"site": "a/b", "inst": "x", "count": 1}, "site 'a/b' is not allowed"),
        ({"site": "tst", "inst": "x-y", "count": 1}, "instrument 'x-y' is not allowed"),
        ({"site": "tst", "inst": "x", "count": 0}, "count 0 is not allowed"),
        ({"site": "tst", "inst": "x", "count": True}, "count True is not allowed"),
        ({"site": "tst", "inst": "x", "count": 1, "after": -1}, "after -1 is not allowed"),
        ({"site": "tst", "inst": "x", "count": 1e9}, "count 1000000000.0 is not allowed"),
    ],
)
def test_bad_requests_are_refused_with_a_sentence(local_site: LocalSite, body: dict[str, object], says: str) -> None:
    answer = reserve(local_site.api_url, **body)
    assert answer.status_code == 400
    assert says in answer.text


def test_the_rule_starts_after_the_highest_of_the_three_and_stops_at_the_last_number() -> None:
    assert next_numbers(5, after=10, reserved=3, stored=7) == range(11, 16)
    assert next_numbers(5, after=0, reserved=30, stored=7) == range(31, 36)
    assert next_numbers(1, after=0, reserved=0, stored=99_999_999) is None
    assert next_numbers(2, after=99_999_997, reserved=0, stored=0) == range(99_999_998, 100_000_000)
