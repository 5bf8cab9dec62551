"""Issue 11, items 6, 8 and 10: `up` killed or interrupted, as a real process, by its own PID.

- SIGKILL leaves nothing behind: the generator workers (forked from `up` itself, or from a
  forkserver when `up` runs in a process with threads of its own) die with `up` (they used to
  live on for good, ~330 MB).
- Ctrl-C (SIGINT to the whole process group, as a terminal sends it) while the workers or the
  forkserver are still starting gives the usual interrupted ending and exit 130, no traceback
  from inside multiprocessing.
- `resume` of a SIGKILLed timed run sends what the run made, and nothing it never got to: a
  timed run promised a stream, not its reserved block of 100 exposures at full speed.
"""

from __future__ import annotations

import contextlib
import os
import pty
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from send_test_images.exitcodes import ExitCode
from send_test_images.sending import journal

from faultkit import alive, descendants
from inprocess import CAMERA, resume
from loopback_server import LoopbackServer

WAIT_S = 30.0
"""Bounds a broken test, not a goal: each wait ends as soon as its condition holds."""
POLL_S = 0.05
CLI = [sys.executable, "-c", "from send_test_images.cli import run; run()"]
"""The `send-test-images` command, as its console script runs it."""
CLI_WITH_A_THREAD = [
    sys.executable, "-c",
    "import sys, threading, time; threading.Thread(target=time.sleep, args=(600,), daemon=True).start(); "
    "from send_test_images.cli import run; run()",
]
"""`up` in a process that has a thread of its own (a caller's script, a site started in-process):
its workers cannot be forked from it safely, so they come from a forkserver."""

pytestmark = pytest.mark.slow


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


def wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(POLL_S)


def start_up(
    server: LoopbackServer, *flags: str, new_session: bool = False, output: bool = True, cli: list[str] = CLI
) -> subprocess.Popen[str]:
    """`up` as a process of its own; without `output`, helpers that outlive it cannot hold our pipes."""
    argv = [*cli, "up", "--api", server.url, "--camera", CAMERA, "-f", "h", "--seed", "3", *flags]
    where = subprocess.PIPE if output else subprocess.DEVNULL
    return subprocess.Popen(argv, stdout=where, stderr=where, text=True, env=os.environ,
                            start_new_session=new_session)


def run_id_of(process: subprocess.Popen[str]) -> str:
    """The run id from `up`'s first line (printed and flushed before anything is sent)."""
    assert process.stdout is not None
    first = process.stdout.readline()
    assert ", run " in first, first
    return first.rsplit(", run ", 1)[1].strip()


@contextlib.contextmanager
def terminal() -> Iterator[int]:
    """A pseudo-terminal for `up`'s output (so it draws its progress bar, a thread of its own),
    read and thrown away here so the bar never blocks; yields the terminal end for `up`."""
    controller, end = pty.openpty()
    reader = threading.Thread(target=_drain, args=(controller,), daemon=True)
    reader.start()
    try:
        yield end
    finally:
        os.close(end)
        os.close(controller)


def _drain(fd: int) -> None:
    with contextlib.suppress(OSError):
        while os.read(fd, 4096):
            pass


@pytest.mark.parametrize(("threaded", "on_a_terminal"), [(False, False), (False, True), (True, False)],
                         ids=["forked from up", "forked from up, bar on a terminal", "from a forkserver"])
def test_sigkill_of_up_leaves_no_forkserver_or_worker_behind(
    server: LoopbackServer, threaded: bool, on_a_terminal: bool
) -> None:
    cli = CLI_WITH_A_THREAD if threaded else CLI
    with contextlib.ExitStack() as stack:
        flags = ("-r", "200", "--rate", "2", "--workers", "2", "-f", "hf")  # -f h alone starts no workers
        if on_a_terminal:
            end = stack.enter_context(terminal())
            argv = [*cli, "up", "--api", server.url, "--camera", CAMERA, "-f", "h", "--seed", "3", *flags]
            process = subprocess.Popen(argv, stdout=end, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        else:
            process = start_up(server, *flags, output=False, cli=cli)
        _sigkill_leaves_nothing(server, process, threaded)


def _sigkill_leaves_nothing(server: LoopbackServer, process: subprocess.Popen, threaded: bool) -> None:
    helpers: set[int] = set()
    try:
        wait_until(lambda: len(server.to("/s3")) >= 2, "the first uploads")
        helpers = descendants(process.pid)
        forkservers = [pid for pid in helpers if "forkserver" in _cmdline(pid)]
        if threaded:
            assert len(helpers) >= 3, helpers  # forkserver, resource tracker, two workers (and more)
            assert forkservers, helpers
        else:  # two workers, forked from up itself: no interpreter started again for them
            assert not forkservers, helpers
            assert {_parent(pid) for pid in helpers} == {process.pid}, helpers
            assert len(helpers) == 2, helpers

        os.kill(process.pid, signal.SIGKILL)
        process.wait(WAIT_S)
        deadline = time.monotonic() + WAIT_S
        while (left := {pid for pid in helpers if alive(pid)}) and time.monotonic() < deadline:
            time.sleep(POLL_S)

        assert not left, f"still alive after {WAIT_S:g} s: {sorted(left)}"
    finally:
        process.kill()
        process.communicate()
        for pid in helpers:  # what this test started: never leave it behind, even when it fails
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("threaded", [False, True], ids=["workers forked from up", "from a forkserver"])
def test_ctrl_c_while_the_workers_start_exits_130_without_a_traceback(server: LoopbackServer, threaded: bool) -> None:
    flags = ("-r", "4", "--rate", "2", "--workers", "2", "-f", "hf")  # -f h alone starts no workers
    process = start_up(server, *flags, new_session=True, cli=CLI_WITH_A_THREAD if threaded else CLI)
    try:
        if threaded:
            wait_until(lambda: any("forkserver" in _cmdline(pid) for pid in descendants(process.pid)),
                       "the forkserver to start")
        else:
            wait_until(lambda: descendants(process.pid), "the first worker")
        os.killpg(process.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole group
        _, err = process.communicate(timeout=WAIT_S)
    finally:
        process.kill()

    assert process.returncode == ExitCode.INTERRUPTED, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    last = err.strip().splitlines()[-1]
    assert " not sent (" in last and "; resume with: " in last, err


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return -1


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_resume_of_a_sigkilled_timed_run_sends_what_it_made_not_its_reserved_block(
    server: LoopbackServer,
) -> None:
    process = start_up(server, "--duration", "20", "--rate", "1", "--workers", "0")
    try:
        run_id = run_id_of(process)
        wait_until(lambda: len(server.to("/s3")) >= 2, "the first uploads")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(WAIT_S)
    finally:
        process.kill()
        process.communicate()
    before = journal.read(run_id)
    made = set(before.exposures)
    assert made and len(before.numbers()) >= 100  # a block of 100 reserved, a few made

    again = resume(run_id)

    assert again.code == 0, again.err
    assert "0 exposure(s) to make first" in again.out
    after = journal.read(run_id)
    assert after.finished and set(after.exposures) == made and after.trimmed_after == max(made)
    posted = {int(r.fields["key"].split("-")[3]) for r in server.to("/s3")}
    assert posted == made  # every made exposure arrived; none it never made
    assert {f"data/{f.name}" for files in after.exposures.values() for f in files} == set(server.objects)
