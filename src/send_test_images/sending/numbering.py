"""File numbers that never collide.

The 8-digit number is part of an image's identity on Photon Ranch (protocol page §2): two
exposures with the same number overwrite each other's files and header row. Several runs may
send for the same camera at once, so numbers are reserved in one place per site and
instrument, under an OS-level lock, and the counter only ever moves forward: a number handed
out once is never handed out again, even when its upload later fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import filelock

from send_test_images import paths
from send_test_images.errors import NumberingError, UsageError
from send_test_images.exposure.naming import MAX_FILE_NUMBER, check_inst, check_site

COUNTERS_DIR = "counters"

ServerReservation = Callable[[int, int], "range | None"]
"""(count, after) -> the block the site reserved, or None when it has no reservation service."""

FIRST_NUMBER = 1
"""The number a camera's first exposure gets when neither the counter nor the server knows one."""

DEFAULT_LOCK_TIMEOUT = 30.0
"""Seconds to wait for another run's reservation; a reservation holds the lock for milliseconds."""

_FORMAT = 1
"""Version of the counter file layout, written into it so a later layout can be recognised."""

_HINT_WRITABLE = (
    "make that directory writable, or point SEND_TEST_IMAGES_HOME at a directory you can write to"
)


def counter_path(site: str, inst: str) -> Path:
    """`{state}/counters/{site}-{inst}.json`; site and instrument are checked, so no path tricks."""
    name = f"{check_site(site)}-{check_inst(inst)}.json"
    try:
        return paths.state_dir() / COUNTERS_DIR / name
    except OSError as exc:
        raise NumberingError(
            f"cannot create the state directory for file-number counters: {exc.strerror or exc}; "
            f"{_HINT_WRITABLE}"
        ) from exc


def last_reserved(site: str, inst: str) -> int | None:
    """The highest number reserved so far for this camera, or None if none was (read-only)."""
    path = counter_path(site, inst)
    with _locked(path):
        return _read_last(path, site, inst)


def reserve(
    site: str,
    inst: str,
    count: int = 1,
    *,
    server_highest: int | Callable[[], int | None] | None = None,
    server: ServerReservation | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> range:
    """Reserve `count` consecutive file numbers for one camera and return them.

    They start after both the counter and `server_highest` (the highest number the service
    already holds for this camera, when known), so a fresh machine does not reuse numbers that
    another machine sent. The counter is saved before returning: the numbers are spent even if
    nothing is ever uploaded with them.

    `server`, when the site offers one (the local site does, the real API does not), reserves
    the block on the site itself, so two machines sending for one camera through one site can
    never both get a number: it is asked with what this machine knows (`after`) and its answer
    is the block. When it answers None the block is this machine's own, as without it.

    `server_highest` may be a function: it is then asked only when no site reserved the block
    (a site that reserves already counts what it stores, and listing it costs two requests of
    every run's start-up), and outside the counter's lock, since it asks the network.
    """
    _check_count(count)
    path = counter_path(site, inst)
    known = None if callable(server_highest) else server_highest
    _check_server_highest(known)
    if server is not None:
        with _locked(path, lock_timeout):
            after = _after(path, site, inst, known)
            given = server(count, after)
            if given is not None:
                if len(given) != count or given.start <= after:
                    raise NumberingError(
                        f"the site answered numbers {given.start}..{given.stop - 1} for {count} after {after}: "
                        "not a fresh block; is the site's database from another installation?"
                    )
                return _spend(path, site, inst, given.start, given.stop)
    if callable(server_highest):
        known = server_highest()
        _check_server_highest(known)
    with _locked(path, lock_timeout):
        start = _after(path, site, inst, known) + 1
        return _spend(path, site, inst, start, start + count)


def _after(path: Path, site: str, inst: str, server_highest: int | None) -> int:
    """The highest number this machine knows to be taken (read under the counter's lock)."""
    return max(FIRST_NUMBER - 1, _read_last(path, site, inst) or 0, server_highest or 0)


def _spend(path: Path, site: str, inst: str, start: int, stop: int) -> range:
    """Save `stop - 1` as the counter (under its lock), unless the numbers run out."""
    if stop - 1 > MAX_FILE_NUMBER:
        left = max(0, MAX_FILE_NUMBER - start + 1)
        raise NumberingError(
            f"cannot reserve {stop - start} file numbers for {site}-{inst}: only {left} of the "
            f"8-digit numbers are left after {start - 1} (counter file {path}); use another "
            "instrument name"
        )
    _write_last(path, site, inst, stop - 1)
    return range(start, stop)


def _check_count(count: int) -> None:
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise UsageError(f"count {count!r} is not allowed: reserve at least 1 file number")


def _check_server_highest(value: int | None) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_FILE_NUMBER:
        raise UsageError(
            f"server's highest file number {value!r} is not allowed: use None or 0 to "
            f"{MAX_FILE_NUMBER}"
        )


@contextlib.contextmanager
def _locked(path: Path, timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[None]:
    lock_path = path.with_name(path.name + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(lock_path, timeout=timeout)
        with lock:
            yield
    except filelock.Timeout as exc:
        raise NumberingError(
            f"another run has held the file-number lock {lock_path} for more than {timeout:g} s; "
            "wait for it to finish, or stop it if it hangs"
        ) from exc
    except OSError as exc:
        raise NumberingError(
            f"cannot lock or write the file-number counter {path}: {exc.strerror or exc}; "
            f"{_HINT_WRITABLE}"
        ) from exc


def _read_last(path: Path, site: str, inst: str) -> int | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    problem = None
    try:
        data = json.loads(text)
    except ValueError as exc:
        problem = f"it is not JSON ({exc})"
    else:
        last = data.get("last") if isinstance(data, dict) else None
        if not isinstance(data, dict) or (data.get("site"), data.get("inst")) != (site, inst):
            problem = f'it does not hold {{"site": "{site}", "inst": "{inst}", "last": N}}'
        elif not isinstance(last, int) or isinstance(last, bool):
            problem = f"its 'last' is {last!r}, not a whole number"
        elif not 0 <= last <= MAX_FILE_NUMBER:
            problem = f"its 'last' {last} is outside 0 to {MAX_FILE_NUMBER}"
        else:
            return last
    raise NumberingError(
        f"file-number counter {path} is corrupt: {problem}; set 'last' to the highest file "
        f"number already used for {site}-{inst} (see the site's latest images), or delete the "
        "file to start again after the highest number the server reports"
    )


def _write_last(path: Path, site: str, inst: str, last: int) -> None:
    """Replace the counter file whole: a crash leaves the old or the new number, never half."""
    text = json.dumps({"format": _FORMAT, "site": site, "inst": inst, "last": last}) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable; not every platform can open a directory, so best effort."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
