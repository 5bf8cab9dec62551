"""Nothing is lost when the upload path misbehaves: real weed and ingestion behind a fault proxy.

The proxy (tests/fault_proxy.py) sits in front of the local site's API and S3 and, on cue,
answers 502, stalls past the client's timeout, hands out an already expired presigned POST, or
loses the upstream while the site is stopped and started again. After the run (and `resume`,
where the run had to give up), every reserved number's files are in the bucket, and each was
stored exactly once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from send_test_images.exitcodes import ExitCode
from send_test_images.invocation import command
from send_test_images.localsite import LocalSite
from send_test_images.localsite.s3server import DEFAULT_BUCKET
from send_test_images.sending import journal

from fault_proxy import FaultProxy
from faultkit import bucket_keys, s3_client
from inprocess import FILES, Ran, resume, up
from loopback_server import Reply, Stall

pytestmark = pytest.mark.s3

STALL_S = 30.0
"""Longer than the client's timeout; the proxy cuts it short when it stops."""
STALL_TIMEOUT_S = 2.0
"""Client timeout in the stall test: far shorter than the stall, far longer than a real answer."""
WAIT_S = 30.0
POLL_S = 0.05
EXPIRED_S = -60
"""A presigned POST whose policy ran out a minute ago."""


@pytest.fixture
def proxies(local_site: LocalSite) -> Iterator[tuple[FaultProxy, FaultProxy]]:
    with FaultProxy(local_site.api_url) as api, FaultProxy(local_site.s3_url) as s3:
        api.rewrite_presign_to(s3)
        yield api, s3


def assert_every_number_stored_once(ran: Ran, site: LocalSite, s3: FaultProxy, inst: str) -> None:
    state = journal.read(ran.run_id)
    assert state.finished
    numbers = state.numbers()
    expected = {f"data/{f.name}" for n in numbers for f in state.exposures[n]}
    assert len(expected) == len(numbers) * len(FILES)
    assert {int(k.split("-")[3]) for k in expected} == set(numbers)
    assert bucket_keys(site, inst) == expected
    stored = s3.stored()
    assert {k: stored.get(k, 0) for k in expected} == dict.fromkeys(expected, 1)


def test_an_api_answering_502_for_a_while_loses_nothing(
    local_site: LocalSite, proxies: tuple[FaultProxy, FaultProxy], tmp_path: Path
) -> None:
    api, s3 = proxies
    api.fail_next(6, Reply(502, '{"message": "Internal server error"}', "application/json"), route="/upload")
    report = tmp_path / "report.json"

    ran = up(api.url, inst="f502", repeat=3, retries=10, report=report)

    assert ran.code == 0, ran.err
    assert json.loads(report.read_text())["errors"] == {"api 502": 6}
    assert_every_number_stored_once(ran, local_site, s3, "f502")


def test_a_stalled_s3_connection_times_out_and_is_tried_again(
    local_site: LocalSite, proxies: tuple[FaultProxy, FaultProxy], tmp_path: Path
) -> None:
    api, s3 = proxies
    s3.fail_next(2, Stall(STALL_S))
    report = tmp_path / "report.json"

    ran = up(api.url, inst="fstall", repeat=2, report=report, uploads={"timeout": STALL_TIMEOUT_S})

    assert ran.code == 0, ran.err
    assert json.loads(report.read_text())["errors"] == {"s3 timeout": 2}
    assert_every_number_stored_once(ran, local_site, s3, "fstall")


def test_an_expired_presigned_post_is_asked_for_again(
    local_site: LocalSite, proxies: tuple[FaultProxy, FaultProxy], tmp_path: Path
) -> None:
    api, s3 = proxies
    fresh = api.presign_hook
    assert fresh is not None
    expired_left = [3]
    lock = threading.Lock()
    client = s3_client(local_site)

    def hand_out_expired(presigned: dict[str, Any]) -> dict[str, Any]:
        with lock:
            stale = expired_left[0] > 0
            expired_left[0] -= stale
        if stale:
            key = presigned["fields"]["key"]
            presigned = client.generate_presigned_post(DEFAULT_BUCKET, key, ExpiresIn=EXPIRED_S)
        return fresh(presigned)

    api.presign_hook = hand_out_expired
    report = tmp_path / "report.json"

    ran = up(api.url, inst="fexpire", repeat=2, report=report)

    assert ran.code == 0, ran.err
    assert json.loads(report.read_text())["errors"] == {"s3 403 AccessDenied": 3}
    assert_every_number_stored_once(ran, local_site, s3, "fexpire")


@pytest.mark.slow
def test_s3_killed_and_restarted_mid_run_then_resume_loses_nothing(tmp_path: Path) -> None:
    data = tmp_path / "site"
    site = LocalSite.start(data)
    try:
        with FaultProxy(site.api_url) as api, FaultProxy(site.s3_url) as s3:
            api.rewrite_presign_to(s3)
            result: list[Ran] = []
            sending = threading.Thread(
                target=lambda: result.append(
                    up(api.url, inst="fkill", repeat=12, retries=2, concurrency=2, rate=4.0)
                )
            )
            sending.start()
            deadline = time.monotonic() + WAIT_S
            while len(s3.stored()) < len(FILES) and time.monotonic() < deadline:
                time.sleep(POLL_S)
            site.stop()  # weed (and the API with it) goes away mid-run
            sending.join(WAIT_S)
            [first] = result
            site = LocalSite.start(data)
            api.upstream, s3.upstream = site.api_url, site.s3_url

            assert first.code == ExitCode.FAILED
            assert f"resume with: {command('resume', first.run_id)}" in first.err
            assert 0 < len(s3.stored()) < 12 * len(FILES)

            again = resume(first.run_id)

            assert again.code == 0, again.err
            assert_every_number_stored_once(first, site, s3, "fkill")
    finally:
        site.stop()
