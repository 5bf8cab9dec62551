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
    {"event": "exposure", "number": n, "files": [{"name", "path", "bytes"}, ...]}
    {"event": "sent", "name": ..., "key": ..., "attempts": k}
    {"event": "failed", "name": ..., "error": ...}        (for the record; still owed)
    {"event": "trim", "last": n}               numbers after n were reserved but never used
    {"event": "done"}                          nothing is owed any more

Appending, never rewriting, means a crash can at worst tear the last line, which is ignored: it
can only lose a `sent` mark, and then that file is sent once more (to the same key, same bytes).
A lock file keeps two processes from sending the same run at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

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

    def numbers(self) -> list[int]:
        """Every number the run still means to use (trimmed ones are spent, not owed)."""
        every = [n for plan in self.plans for n in plan.numbers]
        if self.trimmed_after is not None:
            every = [n for n in every if n <= self.trimmed_after]
        return every

    def ungenerated(self) -> list[int]:
        """Numbers whose exposure was never made (the run stopped before it got there)."""
        return [n for n in self.numbers() if n not in self.exposures]

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
        return self.done or (not self.ungenerated() and not self.unsent() and bool(self.plans))

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
    """Read a journal back; a torn last line (a crash mid-write) is ignored."""
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
        entry = PlanEntry(int(start), int(stop), int(event["seed"]), event["now"], event.get("time"))
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


class Journal:
    """An open journal, appended to by one process; safe to share between threads."""

    def __init__(self, run_id: str, handle: TextIO, lock: filelock.BaseFileLock) -> None:
        self.run_id = run_id
        self._handle = handle
        self._lock = lock
        self._mutex = threading.Lock()
        self._closed = False

    @classmethod
    def create(cls, record: RunRecord) -> Journal:
        """A new journal whose first line says where the run sends and what the user asked."""
        journal = cls._open(record.run_id, mode="x")
        journal._write(record.to_json(), durable=True)
        return journal

    @classmethod
    def reopen(cls, run_id: str) -> Journal:
        """Append to an existing run's journal (for `resume`)."""
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
        try:
            handle = path.open(mode, encoding="utf-8")
        except OSError as exc:
            lock.release()
            raise JournalError(f"cannot write the journal {path}: {exc.strerror or exc}") from exc
        return cls(run_id, handle, lock)

    @property
    def path(self) -> Path:
        return journal_path(self.run_id)

    def add_plan(self, numbers: range, *, seed: int, now: dt.datetime, time: dt.datetime | None) -> None:
        self._write(
            {
                "event": "plan",
                "numbers": [numbers.start, numbers.stop],
                "seed": seed,
                "now": now.isoformat(),
                "time": time.isoformat() if time else None,
            },
            durable=True,
        )

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
        """One line per event; `durable` ones also reach the disk before we go on."""
        line = json.dumps(event, separators=(",", ":")) + "\n"
        with self._mutex:
            if self._closed:  # an upload that outlived Ctrl-C: unrecorded, so it stays owed
                return
            try:
                self._handle.write(line)
                self._handle.flush()
                if durable:
                    os.fsync(self._handle.fileno())
            except OSError as exc:
                raise JournalError(f"cannot write the journal {self.path}: {exc.strerror or exc}") from exc

    def close(self) -> None:
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(OSError):
                self._handle.flush()
                os.fsync(self._handle.fileno())
            self._handle.close()
        self._lock.release()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@contextlib.contextmanager
def opened(run_id: str) -> Iterator[Journal]:
    journal = Journal.reopen(run_id)
    try:
        yield journal
    finally:
        journal.close()
