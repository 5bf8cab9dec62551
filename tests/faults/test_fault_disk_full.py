"""Issue 11, item 4: a disk that fills up never leaves a journal that `resume` cannot read.

On a real small filesystem (tmpfs, mounted here; root only, so skipped elsewhere with the
reason): a journal write that runs out of space part-way is cut back to the last whole line, so
what is written once space is back does not follow a torn line; a run killed mid-line is mended
when it is reopened; and a spool that fills up ends `up` with one line and the `resume` hint.
Before, `resume` sent everything and then failed for good ("corrupt at line 158").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from send_test_images.errors import JournalError
from send_test_images.exitcodes import ExitCode
from send_test_images.exposure.options import BatchOptions
from send_test_images.invocation import command
from send_test_images.sending import journal
from send_test_images.sending.journal import FileEntry, Journal
from send_test_images.sending.records import RunRecord

from inprocess import SMALL, resume, run_cli
from loopback_server import LoopbackServer

NOW = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC)
TMPFS_SIZE = "2m"
FILLER_CHUNK = 4096


@pytest.fixture
def small_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The state home on a 2 MB tmpfs of its own, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    home = tmp_path / "small"
    home.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(home)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    monkeypatch.setenv("SEND_TEST_IMAGES_HOME", str(home))
    try:
        yield home
    finally:
        subprocess.run(["umount", "-l", str(home)], check=False)


def fill(directory: Path, leave: int = 0) -> Path:
    """Fill the filesystem of `directory` up to `leave` free bytes (about); the filler's path."""
    filler = directory / "filler"
    with filler.open("wb") as f:
        while (free := os.statvfs(directory).f_bavail * os.statvfs(directory).f_frsize) > leave:
            try:
                f.write(b"\0" * min(FILLER_CHUNK, max(1, free - leave)))
                f.flush()
            except OSError:
                break
    return filler


def files(number: int) -> list[FileEntry]:
    base = f"tst-inst-20261130-{number:08d}"
    return [FileEntry(f"{base}-EX00.txt", f"/spool/{base}-EX00.txt", 10),
            FileEntry(f"{base}-EX10.jpg", f"/spool/{base}-EX10.jpg", 20)]


def test_a_journal_write_that_runs_out_of_space_leaves_no_torn_line(small_home: Path) -> None:
    j = Journal.create(RunRecord("full", "local", None, "data", None, None, BatchOptions(), seed=1))
    j.add_plan(range(1, 4), seed=1, now=NOW, time=None)
    j.add_exposure(1, files(1))
    filler = fill(small_home)

    with pytest.raises(JournalError, match="No space left on device"):
        for number in (2, 3):  # the page cache may take a little more; one of these fails
            j.add_exposure(number, files(number) * 50)
    j.close()  # with the disk still full: no error, nothing torn
    assert journal.journal_path("full").read_bytes().endswith(b"\n")

    filler.unlink()  # space is back; resume appends
    with journal.opened("full") as again:
        again.mark_sent(files(1)[0].name, "data/x", 1)
        again.add_exposure(3, files(3))

    state = journal.read("full")  # readable: no torn line in the middle
    assert files(1)[0].name in state.sent and 3 in state.exposures
    assert 2 in state.ungenerated() or 2 in state.exposures  # owed either way: never lost


def test_a_line_torn_by_a_crash_is_mended_before_resume_appends(tmp_path: Path) -> None:
    with Journal.create(RunRecord("torn", "local", None, "data", None, None, BatchOptions(), seed=1)) as j:
        j.add_plan(range(1, 3), seed=1, now=NOW, time=None)
        j.add_exposure(1, files(1))
    path = journal.journal_path("torn")
    with path.open("a") as f:
        f.write('{"event":"exposure","number":2,"files":[{"na')  # killed mid-write

    with journal.opened("torn") as again:
        again.mark_sent(files(1)[0].name, "data/x", 1)
        again.mark_sent(files(1)[1].name, "data/y", 1)

    state = journal.read("torn")
    assert state.unsent() == {} and state.ungenerated() == [2]  # number 2 is still owed


def test_a_spool_that_fills_up_ends_up_with_one_line_and_the_resume_hint(small_home: Path) -> None:
    with LoopbackServer() as server:
        fill(small_home, leave=256 * 1024)  # room for the journal, not for the exposures' files

        code, _, err = run_cli("up", "--api", server.url, *SMALL, "-f", "hjtF", "-r", "3", "--workers", "0")

        assert code == ExitCode.FAILED
        [line] = err.strip().splitlines()
        assert line.startswith("send-test-images: error: ")
        assert "No space left on device" in line
        run_id = line.rsplit(f"send the rest with: {command('resume')} ", 1)[1]
        with contextlib.suppress(FileNotFoundError):
            (small_home / "filler").unlink()

        again = resume(run_id)

        assert again.code == 0, again.err
        assert journal.read(run_id).finished
        assert len(server.objects) == 3 * 4
