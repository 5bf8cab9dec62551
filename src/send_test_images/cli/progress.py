"""Showing a run as it goes: one redrawn line on a terminal, one plain line per file otherwise.

A line redrawn in place is what a person watching wants; a log (CI, `| tee`) wants lines that
survive being captured. Both read the same `RunStats`.

The redrawn line is `progressline.py`'s (tqdm), imported only when there is a terminal to draw
on: a run whose output is captured never loads tqdm (~20 ms of every such run's start-up). One
thread of ours moves the line every `refresh` seconds, so tqdm is only ever called from one
thread at a time (under `_lock`, as are the lines printed above it).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, TextIO

from send_test_images.errors import UploadError
from send_test_images.sending.client import UploadResult
from send_test_images.sending.summary import RunStats

if TYPE_CHECKING:
    from send_test_images.cli.progressline import Line

DEFAULT_REFRESH = 0.2
"""Seconds between two redraws of the line."""


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


class Progress:
    """Told about every file; redraws one line (terminal) or prints a line per file (anything else)."""

    def __init__(self, stats: RunStats, out: TextIO, *, bar: bool, refresh: float = DEFAULT_REFRESH) -> None:
        self.stats = stats
        self.out = out
        self.bar = bar
        self.refresh = refresh
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._line_shown: Line | None = None

    def __enter__(self) -> Progress:
        if self.bar:
            from send_test_images.cli.progressline import Line  # late: only a terminal needs tqdm

            self._line_shown = Line(self.stats, self.out)
            self._thread = threading.Thread(target=self._redraw, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._line_shown is not None:
            with self._lock:
                self._move()
                self._line_shown.final = True
                self._line_shown.close()  # draws the final line and ends it with a newline

    def sent(self, result: UploadResult) -> None:
        if not self.bar:
            retried = f", {result.attempts} tries" if result.attempts > 1 else ""
            self._line(f"{result.key}  {result.status} OK  ({result.bytes / 1e3:.1f} kB{retried})")

    def failed(self, key: str, error: UploadError) -> None:
        self._line(f"{key}  FAILED  {error}")

    def note(self, text: str) -> None:
        self._line(text)

    def _line(self, text: str) -> None:
        """A line of its own; on a terminal, printed above the redrawn one."""
        with self._lock:
            if self._line_shown is not None:
                self._line_shown.clear()
                print(text, file=self.out, flush=True)
                self._line_shown.refresh()
            else:
                print(text, file=self.out, flush=True)

    def _redraw(self) -> None:
        while not self._stop.wait(self.refresh):
            with self._lock:
                self._move()

    def _move(self) -> None:
        """Bring the line up to the counters (tqdm's rate and ETA follow its own updates)."""
        line = self._line_shown
        if line is None:
            return
        moved = self.stats.exposures_sent - line.n
        if moved:
            line.update(moved)
        else:
            line.refresh()
