"""A run that could not send everything says so, keeps what it owes, and `resume` sends exactly that.

Against the scriptable loopback API/S3; the Ctrl-C test runs the real command in a subprocess.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from send_test_images.exitcodes import ExitCode
from send_test_images.invocation import command
from send_test_images.sending import journal, spool
from send_test_images.sending.journal import JournalError

from inprocess import FILES, resume, up
from loopback_server import LoopbackServer, Stall, s3_error

STALL_S = 30.0
"""Longer than the client's timeout; the server cuts it short when it stops."""
WAIT_S = 20.0
POLL_S = 0.05


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


def posts_per_key(server: LoopbackServer) -> Counter[str]:
    return Counter(r.fields["key"] for r in server.to("/s3"))


def test_a_refused_file_is_reported_kept_and_sent_by_resume_alone(server: LoopbackServer) -> None:
    server.s3_script.append(s3_error(403, "AccessDenied", "Access Denied by a test"))

    first = up(server.url, repeat=2, concurrency=1)

    assert first.code == ExitCode.FAILED
    assert "FAILED" in first.out and "403 AccessDenied: Access Denied by a test" in first.out
    hint = f"resume with: {command('resume', first.run_id)}"
    assert f"1 of 2 exposure(s) not sent (1 file(s) made and waiting); {hint}" in first.err
    owed = journal.read(first.run_id).unsent()
    assert [len(files) for files in owed.values()] == [1]
    [entry] = next(iter(owed.values()))
    assert Path(entry.path).is_file() and Path(entry.path).name == entry.name  # kept under its name
    assert len(server.objects) == 2 * len(FILES) - 1

    again = resume(first.run_id)

    assert again.code == 0, again.err
    assert set(server.objects) == set(posts_per_key(server))
    assert len(server.objects) == 2 * len(FILES)
    refused_key = f"data/{entry.name}"
    assert {k: n for k, n in posts_per_key(server).items() if n > 1} == {refused_key: 2}
    assert journal.read(first.run_id).finished
    assert not spool.spool_dir(first.run_id).exists()


def test_resume_without_an_id_finishes_every_unfinished_run_once(server: LoopbackServer) -> None:
    server.s3_script.append(s3_error(403, "AccessDenied", "no"))
    one = up(server.url, inst="cama", repeat=1, concurrency=1)
    server.s3_script.append(s3_error(403, "AccessDenied", "no"))
    two = up(server.url, inst="camb", repeat=1, concurrency=1)
    assert one.code == two.code == ExitCode.FAILED

    done = resume()

    assert done.code == 0, done.err
    assert one.run_id in done.out and two.run_id in done.out
    assert len(server.objects) == 2 * len(FILES)
    assert "nothing to resume" in resume().out


def test_a_cleared_spool_is_made_again_under_the_same_names(server: LoopbackServer) -> None:
    server.s3_script.append(s3_error(403, "AccessDenied", "no"))
    first = up(server.url, repeat=1, concurrency=1)
    [[entry]] = journal.read(first.run_id).unsent().values()
    Path(entry.path).unlink()

    again = resume(first.run_id)

    assert again.code == 0, again.err
    assert f"data/{entry.name}" in server.objects
    assert len(server.objects) == len(FILES)


def test_resuming_a_run_being_sent_elsewhere_is_refused(server: LoopbackServer) -> None:
    server.s3_script.append(s3_error(403, "AccessDenied", "no"))
    first = up(server.url, repeat=1, concurrency=1)

    with journal.opened(first.run_id), pytest.raises(JournalError, match="being sent by another process"):
        resume(first.run_id)


def test_ctrl_c_stops_cleanly_and_resume_sends_the_rest_once(server: LoopbackServer) -> None:
    cli = [
        sys.executable, "-c", "import sys; from send_test_images.cli import main; sys.exit(main())",
        "up", "--api", server.url, "--camera", "sq768", "-f", FILES, "-r", "4", "--seed", "3",
        "--workers", "0", "--concurrency", "1", "--timeout", "1",
    ]
    server.s3_script.append(Stall(STALL_S))  # the first file hangs until the client gives up
    process = subprocess.Popen(cli, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
    deadline = time.monotonic() + WAIT_S
    while not server.to("/s3") and time.monotonic() < deadline:
        time.sleep(POLL_S)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=WAIT_S)

    assert process.returncode == ExitCode.INTERRUPTED, err
    run_id = err.rsplit("send-test-images resume ", 1)[1].split()[0]
    assert "not sent" in err
    sent_before = set(server.objects)

    again = resume(run_id)

    assert again.code == 0, again.err
    assert len(server.objects) == 4 * len(FILES)
    assert set(range(1, 5)) == {int(k.split("-")[3]) for k in server.objects}
    posted_twice = {k for k, n in posts_per_key(server).items() if n > 1}
    assert not posted_twice & sent_before  # nothing that had arrived was sent again
