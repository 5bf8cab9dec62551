"""Issue 11, item 13: a server that drips its answer cannot hold a file past the request's deadline.

httpx's timeouts are per read: a server sending one byte a second never trips a 5 s timeout, and
one held `up --timeout 5 --retries 0` for 127 s. Each request now has a deadline for the whole
of it (client.request_deadline), and running out of it is a timeout like any other: counted,
retried if retries are left, and the file stays owed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from send_test_images.exitcodes import ExitCode
from send_test_images.sending import journal

from inprocess import up
from loopback_server import Drip, LoopbackServer

pytestmark = pytest.mark.slow  # each waits for a deadline of about 3 s on purpose

TIMEOUT_S = 1.0
DRIP = Drip(seconds=0.2, count=150)
"""A byte every 0.2 s (well inside the 1 s timeout) for 30 s, far past the deadline."""


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


def test_a_dripping_s3_answer_ends_at_the_deadline_as_a_timeout_and_the_file_stays_owed(
    server: LoopbackServer, tmp_path: Path
) -> None:
    server.s3_script.append(DRIP)
    report = tmp_path / "report.json"
    started = time.monotonic()

    ran = up(server.url, repeat=1, files="h", retries=0, concurrency=1, report=report,
             uploads={"timeout": TIMEOUT_S})

    took = time.monotonic() - started
    assert ran.code == ExitCode.FAILED
    summary = json.loads(report.read_text())
    assert summary["errors"] == {"s3 timeout": 1} and summary["files_failed"] == 1
    assert "deadline of the whole request" in ran.out
    assert len(server.to("/s3")) == 1  # one attempt: --retries 0
    [[owed]] = journal.read(ran.run_id).unsent().values()
    assert Path(owed.path).is_file()
    from send_test_images.sending.client import request_deadline  # here: the test must fail, not error, before

    assert took < 3 * request_deadline(TIMEOUT_S, owed.bytes)  # a bound, not a goal: the drip lasts 30 s


def test_a_dripping_api_is_retried_after_its_deadline_and_the_file_arrives(
    server: LoopbackServer, tmp_path: Path
) -> None:
    server.api_script.append(DRIP)
    report = tmp_path / "report.json"

    ran = up(server.url, repeat=1, files="h", retries=1, concurrency=1, report=report,
             uploads={"timeout": TIMEOUT_S})

    assert ran.code == 0, ran.err
    summary = json.loads(report.read_text())
    assert summary["errors"] == {"api timeout": 1} and summary["retries"] == 1
    assert len(server.to("/upload")) == 2 and len(server.objects) == 1
