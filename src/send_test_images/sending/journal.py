"""The per-run journal: what a run promised to send and what has been sent, on disk.

A run is only loss-free if what it still owes survives a crash or Ctrl-C. So before a file is
sent its exposure is written here (number, names, where the bytes are), and a file counts as
sent only once S3 answered 204 and that answer is written here too. `resume` reads the journal
back and sends exactly what is missing.

One JSON object per line, appended and flushed as events happen, under
`{state}/runs/{run_id}.jsonl`:

    {"event": "run", "format": 1, ...}         the run: where it sends, the user's options
                                               (a versioned `records.RunRecord`)
    {"event": "plan", "numbers": [a, b], ...}  numbers a..b-1 reserved, with what re-plans them
                                               ("stream": true for a timed run's blocks)
    {"event": "target", "target": url}         `resume --api` sent the run somewhere else
    {"event": "exposure", "number": n, "files": [{"name", "path", "bytes"}, ...]}
    {"event": "sent", "name": ..., "key": ..., "attempts": k}
    {"event": "failed", "name": ..., "error": ...}        (for the record; still owed)
    {"event": "trim", "last": n}               numbers after n were reserved but never used
    {"event": "done"}                          nothing is owed any more

Appending, never rewriting, means a crash can at worst tear the last line, which is ignored: it
can only lose a `sent` mark, and then that file is sent once more (to the same key, same bytes).
A torn line is never followed by good ones, which would make the journal unreadable for good
(a disk that filled up mid-line used to do that: "corrupt at line 158" once space came back):
a write that fails is cut back to the last whole line before anything else is written, and a
process that reopens a journal first cuts a torn last line off (or ends a whole one that only
lacks its newline). A `plan` or `exposure` line that was cut back was never acted on: its
exposure is not sent before its line is written, so the numbers stay owed (made again,
identically, by `resume`).
A lock file keeps two processes from sending the same run at once.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import json
import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import filelock

from send_test_images import paths
from send_test_images.errors import JournalError, UsageError
from send_test_images.sending.records import FORMAT, RunRecord

__all__ = ["FORMAT", "FileEntry", "Journal", "JournalError", "PlanEntry", "RunRecord", "RunState"]

RUNS_DIR = "runs"
JOURNAL_SUFFIX = ".jsonl"
LOCK_SUFFIX = ".lock"
RUN_ID_RANDOM_BYTES = 3


@dataclass(frozen=True)
class FileEntry:
    """One file an exposure owes: its Photon Ranch name and where its bytes wait."""

    name: str
    path: str
    bytes: int


@dataclass(frozen=True)
class PlanEntry:
    """Reserved numbers `start..stop-1` and the values that plan them again, identically."""

    start: int
    stop: int
    seed: int
    now: str
    time: str | None
    stream: bool = False
    """A block of a timed run (--duration): reserved in case the run got that far."""

    @property
    def numbers(self) -> range:
        return range(self.start, self.stop)


@dataclass
class RunState:
    """A journal read back: everything `resume` needs to know.

    The run line is kept as read and typed on first use (`record`), so a journal this version
    cannot resume still says whether it is finished: one such file does not stop `resume` from
    finishing every other run.
    """

    run_id: str
    run_line: dict[str, Any]
    path: Path
    plans: list[PlanEntry] = field(default_factory=list)
    exposures: dict[int, list[FileEntry]] = field(default_factory=dict)
    sent: set[str] = field(default_factory=set)
    failures: dict[str, str] = field(default_factory=dict)
    trimmed_after: int | None = None
    done: bool = False
    target: str | None = None
    """Where `resume --api` last sent the run (None: where it started, the run line's target)."""

    def numbers(self) -> list[int]:
        """Every number the run still means to use (trimmed ones are spent, not owed)."""
        return list(self.iter_numbers())

    def iter_numbers(self) -> Iterator[int]:
        """`numbers()` one at a time: a run of 200 million numbers is not a list of them."""
        for numbers in self._live_ranges():
            yield from numbers

    def _live_ranges(self) -> list[range]:
        """Each plan's numbers, cut at the trim: what the run still means to use, as ranges."""
        ranges = [plan.numbers for plan in self.plans]
        if self.trimmed_after is not None:
            ranges = [range(r.start, max(r.start, min(r.stop, self.trimmed_after + 1))) for r in ranges]
        return ranges

    def ungenerated(self) -> list[int]:
        """Numbers whose exposure was never made (the run stopped before it got there)."""
        return list(self.iter_ungenerated())

    def iter_ungenerated(self) -> Iterator[int]:
        return (n for n in self.iter_numbers() if n not in self.exposures)

    def count_ungenerated(self) -> int:
        """Counted from the ranges, not by walking every number: settling or reopening a run of
        200 million numbers took seconds per 20 million that way (1.2 s each, measured)."""
        live = sorted((r for r in self._live_ranges() if r), key=lambda r: r.start)
        starts = [r.start for r in live]
        made = 0
        for number in self.exposures:
            at = bisect.bisect_right(starts, number) - 1
            made += at >= 0 and number in live[at]
        return sum(len(r) for r in live) - made

    @property
    def timed(self) -> bool:
        """A --duration run: it promised a stream, so numbers it never reached are not owed."""
        return any(plan.stream for plan in self.plans)

    def last_made(self) -> int | None:
        """The highest number whose exposure was made (journaled), if any."""
        return max(self.exposures, default=None)

    def unsent(self) -> dict[int, list[FileEntry]]:
        """Made but not yet sent, by exposure number, in the order they were made."""
        owed = {}
        for number, files in self.exposures.items():
            left = [f for f in files if f.name not in self.sent]
            if left:
                owed[number] = left
        return owed

    def files_left(self) -> int:
        return sum(len(files) for files in self.unsent().values())

    @property
    def finished(self) -> bool:
        return self.done or (bool(self.plans) and not self.unsent() and next(self.iter_ungenerated(), None) is None)

    @property
    def record(self) -> RunRecord:
        """The typed run line; a JournalError naming the run and what to do if it cannot be read."""
        return RunRecord.from_json(self.run_line, run_id=self.run_id, path=self.path)


def runs_dir() -> Path:
    try:
        path = paths.state_dir() / RUNS_DIR
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise JournalError(f"cannot create the journal directory: {exc.strerror or exc}") from exc
    return path


def journal_path(run_id: str) -> Path:
    return runs_dir() / (check_run_id(run_id) + JOURNAL_SUFFIX)


def check_run_id(run_id: str) -> str:
    """Run ids become file names: letters, digits, `-` and `_` only."""
    ok = isinstance(run_id, str) and run_id and all(c.isalnum() or c in "-_" for c in run_id)
    if not ok or not run_id.isascii():
        raise UsageError(f"run id {run_id!r} is not allowed: use the id printed by `up` (letters, digits, -)")
    return run_id


def new_run_id(site: str, now: dt.datetime | None = None) -> str:
    """Sorts by start time and says which site it was for; the random tail keeps it unique."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{site}-{secrets.token_hex(RUN_ID_RANDOM_BYTES)}"


def list_runs() -> list[str]:
    """Every run with a journal, oldest first."""
    return sorted(p.name.removesuffix(JOURNAL_SUFFIX) for p in runs_dir().glob("*" + JOURNAL_SUFFIX))


def read(run_id: str) -> RunState:
    """Read a journal back; a torn last line (a crash mid-write) is ignored.

    A torn line followed by good ones is still refused as corruption: this version never writes
    one (see the module docstring), so one there means the file was changed by something else.
    """
    path = journal_path(run_id)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        known = ", ".join(list_runs()[-3:]) or "none"
        raise UsageError(f"run {run_id!r} is not known: use one of the journal's runs ({known})") from None
    except OSError as exc:
        raise JournalError(f"cannot read the journal {path}: {exc.strerror or exc}") from exc
    state: RunState | None = None
    for number, line in enumerate(lines, 1):
        try:
            event = json.loads(line)
        except ValueError:
            if number == len(lines):
                break
            raise JournalError(f"journal {path} is corrupt at line {number}: not JSON") from None
        if state is None:
            if not isinstance(event, dict) or event.get("event") != "run":
                raise JournalError(f"journal {path} does not start with its run line")
            state = RunState(run_id, event, path)
            continue
        try:
            _apply(state, event)
        except (AttributeError, KeyError, TypeError, ValueError):
            raise JournalError(f"journal {path} is corrupt at line {number}: not an event this version knows") from None
    if state is None:
        raise JournalError(f"journal {path} is empty: delete it, its run never started")
    return state


def _apply(state: RunState, event: dict[str, Any]) -> None:
    kind = event.get("event")
    if kind == "plan":
        start, stop = event["numbers"]
        entry = PlanEntry(int(start), int(stop), int(event["seed"]), event["now"], event.get("time"),
                          bool(event.get("stream", False)))
        for stamp in (entry.now, entry.time):  # re-planning reads them: a bad one is corruption here
            if stamp is not None:
                dt.datetime.fromisoformat(stamp)
        state.plans.append(entry)
    elif kind == "exposure":
        state.exposures[event["number"]] = [FileEntry(**f) for f in event["files"]]
    elif kind == "sent":
        state.sent.add(event["name"])
        state.failures.pop(event["name"], None)
    elif kind == "failed":
        state.failures[event["name"]] = event["error"]
    elif kind == "trim":
        state.trimmed_after = event["last"]
    elif kind == "done":
        state.done = True
    elif kind == "target":
        if not isinstance(event["target"], str):
            raise TypeError("target")
        state.target = event["target"]


class Journal:
    """An open journal, appended to by one process; safe to share between threads."""

    def __init__(self, run_id: str, fd: int, lock: filelock.BaseFileLock) -> None:
        self.run_id = run_id
        self._fd = fd
        self._lock = lock
        self._mutex = threading.Lock()
        self._closed = False
        self._good = os.lseek(fd, 0, os.SEEK_END)
        """Bytes of whole lines: a failed write is cut back to this."""
        self._broken: str | None = None
        """Why nothing more may be written (a failed write could not be cut back)."""

    @classmethod
    def create(cls, record: RunRecord) -> Journal:
        """A new journal whose first line says where the run sends and what the user asked."""
        journal = cls._open(record.run_id, mode="x")
        journal._write(record.to_json(), durable=True)
        return journal

    @classmethod
    def reopen(cls, run_id: str) -> Journal:
        """Append to an existing run's journal (for `resume`), after mending a torn last line."""
        return cls._open(run_id, mode="a")

    @classmethod
    def _open(cls, run_id: str, mode: str) -> Journal:
        path = journal_path(run_id)
        lock = filelock.FileLock(path.with_suffix(LOCK_SUFFIX), timeout=0)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise JournalError(
                f"run {run_id} is being sent by another process right now: wait for it to finish"
            ) from None
        flags = os.O_WRONLY | os.O_APPEND | (os.O_CREAT | os.O_EXCL if mode == "x" else 0)
        try:
            fd = os.open(path, flags, 0o644)
            try:
                if mode == "a":
                    _mend_torn_tail(fd, path)
            except BaseException:
                os.close(fd)
                raise
        except OSError as exc:
            lock.release()
            raise JournalError(f"cannot write the journal {path}: {exc.strerror or exc}") from exc
        return cls(run_id, fd, lock)

    @property
    def path(self) -> Path:
        return journal_path(self.run_id)

    def add_plan(
        self, numbers: range, *, seed: int, now: dt.datetime, time: dt.datetime | None, stream: bool = False
    ) -> None:
        event: dict[str, Any] = {
            "event": "plan",
            "numbers": [numbers.start, numbers.stop],
            "seed": seed,
            "now": now.isoformat(),
            "time": time.isoformat() if time else None,
        }
        if stream:  # only then: journals of counted runs read exactly as before
            event["stream"] = True
        self._write(event, durable=True)

    def retarget(self, target: str) -> None:
        """`resume --api URL`: from now on the run sends there (and later resumes too)."""
        self._write({"event": "target", "target": target}, durable=True)

    def add_exposure(self, number: int, files: list[FileEntry]) -> None:
        """Written before any of these files is sent: from here on they are owed."""
        entries = [{"name": f.name, "path": f.path, "bytes": f.bytes} for f in files]
        self._write({"event": "exposure", "number": number, "files": entries}, durable=True)

    def mark_sent(self, name: str, key: str, attempts: int) -> None:
        self._write({"event": "sent", "name": name, "key": key, "attempts": attempts})

    def mark_failed(self, name: str, error: str) -> None:
        self._write({"event": "failed", "name": name, "error": error})

    def trim(self, last: int) -> None:
        self._write({"event": "trim", "last": last}, durable=True)

    def mark_done(self) -> None:
        self._write({"event": "done"}, durable=True)

    def _write(self, event: dict[str, Any], *, durable: bool = False) -> None:
        """One whole line per event, or none; `durable` ones also reach the disk before we go on.

        A write that fails part-way (a full disk) is cut back to the last whole line, so the
        next line, written once there is space, does not follow a torn one.
        """
        line = (json.dumps(event, separators=(",", ":")) + "\n").encode("utf-8")
        with self._mutex:
            if self._closed:  # an upload that outlived Ctrl-C: unrecorded, so it stays owed
                return
            if self._broken is not None:
                raise JournalError(self._broken)
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(self._fd, view):]
                if durable:
                    os.fsync(self._fd)
            except OSError as exc:
                message = f"cannot write the journal {self.path}: {exc.strerror or exc}"
                try:
                    os.ftruncate(self._fd, self._good)
                except OSError:
                    self._broken = message
                raise JournalError(message) from exc
            self._good += len(line)

    def close(self) -> None:
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(OSError):
                os.fsync(self._fd)
            os.close(self._fd)
        self._lock.release()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _mend_torn_tail(fd: int, path: Path) -> None:
    """Before appending: cut off a torn last line (a crash mid-write), or end a whole one.

    The reader ignores a torn last line anyway, so cutting it loses nothing it would have used;
    appending after it would make it a torn line in the middle, which the reader must refuse.
    """
    size = os.fstat(fd).st_size
    if size == 0:
        return
    with path.open("rb") as f:
        tail_start = max(0, size - _TAIL_SCAN)
        while True:
            f.seek(tail_start)
            tail = f.read(size - tail_start)
            cut = tail.rfind(b"\n")
            if cut >= 0 or tail_start == 0:
                break
            tail_start = max(0, tail_start - _TAIL_SCAN)
    if tail.endswith(b"\n"):
        return
    last = tail[cut + 1:]
    try:
        json.loads(last)
    except ValueError:
        os.ftruncate(fd, tail_start + cut + 1)
    else:
        os.write(fd, b"\n")
    os.fsync(fd)


_TAIL_SCAN = 64 * 1024
"""Bytes read back at a time from the end of a journal to find its last newline."""


@contextlib.contextmanager
def opened(run_id: str) -> Iterator[Journal]:
    journal = Journal.reopen(run_id)
    try:
        yield journal
    finally:
        journal.close()
