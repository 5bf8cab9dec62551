"""Showing a run as it goes: one redrawn line on a terminal, one plain line per file otherwise.

A line redrawn in place is what a person watching wants; a log (CI, `| tee`) wants lines that
survive being captured. Both read the same `RunStats`.

The line is tqdm's (README, "Dependencies": why tqdm and not rich): it measures the terminal at
every redraw and never writes past its width (a line one character too wide wraps, and every
`\\r` redraw then starts a new row), smooths the rate and works out the ETA. We only choose what
the line says for the width there is, and feed it the counters: the upload threads count into
`RunStats`, and one thread of ours moves the bar every `refresh` seconds, so tqdm is only ever
called from one thread at a time (under `_lock`, as are the lines printed above it).
"""

from __future__ import annotations

import threading
from typing import Any, TextIO

from tqdm import tqdm

from send_test_images.errors import UploadError
from send_test_images.sending.client import UploadResult
from send_test_images.sending.summary import MB, RunStats

DEFAULT_REFRESH = 0.2
"""Seconds between two redraws of the line."""
WIDE = 80
"""From this many columns on, the line has a bar and says `exposures` in full."""

# What the line says, by what is known and how wide the terminal is. `{mb_s}` and `{errors}` are
# ours (see `_Line.format_dict`); the rest is tqdm's.
STARTING = "{n_fmt}/{total_fmt} exposures: making the first one… [{elapsed}]"
STARTING_OPEN = "making the first exposure… [{elapsed}]"
WIDE_LINE = ("{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} exposures "
             "[{elapsed}<{remaining}, {rate_noinv_fmt}, {mb_s}, {errors}]")
NARROW_LINE = "{percentage:3.0f}% {n_fmt}/{total_fmt} {elapsed}<{remaining} {rate_noinv_fmt} {mb_s} {errors}"
OPEN_LINE = "{n_fmt} exposures [{elapsed}, {rate_noinv_fmt}, {mb_s}, {errors}]"
"""A timed run (--duration): no total, so no percentage, bar or ETA."""
FINAL_WIDE = "{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} exposures in {elapsed} [{mean_rate}, {mb_s}, {errors}]"
FINAL_NARROW = "{n_fmt}/{total_fmt} exposures in {elapsed}, {mean_rate}, {mb_s}, {errors}"
FINAL_OPEN = "{n_fmt} exposures in {elapsed} [{mean_rate}, {mb_s}, {errors}]"


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


def line_format(columns: int | None, *, total: int | None, started: bool, final: bool) -> str:
    """Which line to draw (pure): what is known (a total? a first exposure made? over?) and the room.

    Before the first exposure is made there is no rate to show, only the planned total; at the
    end the rate is the run's mean, and the ETA is gone.
    """
    wide = columns is None or columns >= WIDE
    if final:
        if total is None:
            return FINAL_OPEN
        return FINAL_WIDE if wide else FINAL_NARROW
    if not started:
        return STARTING if total is not None else STARTING_OPEN
    if total is None:
        return OPEN_LINE
    return WIDE_LINE if wide else NARROW_LINE


class _Line(tqdm):  # type: ignore[type-arg]
    """tqdm's line, with our counters (MB/s, errors) and a format chosen at each redraw."""

    monitor_interval = 0  # no monitor thread: ours redraws, at a steady pace

    def __init__(self, stats: RunStats, out: TextIO) -> None:
        self.stats = stats
        self.final = False
        super().__init__(
            total=stats.exposures_planned, file=out, unit=" exp", dynamic_ncols=True, mininterval=0,
            miniters=0, smoothing=0.1, leave=True, bar_format=STARTING,
        )

    @property
    def format_dict(self) -> dict[str, Any]:
        found = super().format_dict
        stats = self.stats
        elapsed = found["elapsed"]
        errors = sum(stats.errors.values())
        found["bar_format"] = line_format(found["ncols"], total=self.total, started=stats.exposures_total > 0,
                                          final=self.final)
        found["mb_s"] = f"{stats.bytes_sent / MB / elapsed if elapsed > 0 else 0.0:.1f} MB/s"
        found["errors"] = f"{errors} error{'s' if errors != 1 else ''}"
        found["mean_rate"] = f"{stats.exposures_sent / elapsed if elapsed > 0 else 0.0:.2f} exp/s"
        return found


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
        self._line_shown: _Line | None = None

    def __enter__(self) -> Progress:
        if self.bar:
            self._line_shown = _Line(self.stats, self.out)
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
