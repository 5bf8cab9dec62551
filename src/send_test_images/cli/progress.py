"""Showing a run as it goes: one redrawn bar on a terminal, one plain line per file otherwise.

A bar is what a person watching wants; a log (CI, `| tee`) wants lines that survive being
captured. Both read the same `RunStats`. The bar is a dozen lines of our own rather than tqdm or
rich: it shows four counters, and a dependency for that would not earn its place.
"""

from __future__ import annotations

import threading
from typing import TextIO

from send_test_images.errors import UploadError
from send_test_images.sending.client import UploadResult
from send_test_images.sending.summary import MB, RunStats

DEFAULT_REFRESH = 0.2
"""Seconds between two redraws of the bar."""
BAR_WIDTH = 24


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


def render_bar(stats: RunStats, width: int = BAR_WIDTH) -> str:
    """`[#####.....] 120/130 files  24/100 exposures  35.2 MB/s  0 errors` (pure).

    Files are counted as exposures are made, so the bar fills by exposures when their number
    is known in advance, by files otherwise.
    """
    planned = max(stats.exposures_planned or 0, stats.exposures_total)
    if stats.exposures_planned:
        filled = min(width, stats.exposures_sent * width // max(planned, 1))
    else:
        filled = min(width, stats.files_sent * width // max(stats.files_total, 1))
    elapsed = stats.elapsed
    mb_per_s = stats.bytes_sent / MB / elapsed if elapsed > 0 else 0.0
    errors = sum(stats.errors.values())
    return (
        f"[{'#' * filled}{'.' * (width - filled)}] {stats.files_sent}/{stats.files_total} files  "
        f"{stats.exposures_sent}/{planned} exposures  {mb_per_s:.1f} MB/s  "
        f"{errors} error{'s' if errors != 1 else ''}"
    )


class Progress:
    """Told about every file; draws a bar (terminal) or prints a line per file (anything else)."""

    def __init__(self, stats: RunStats, out: TextIO, *, bar: bool, refresh: float = DEFAULT_REFRESH) -> None:
        self.stats = stats
        self.out = out
        self.bar = bar
        self.refresh = refresh
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn = 0

    def __enter__(self) -> Progress:
        if self.bar:
            self._thread = threading.Thread(target=self._redraw, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._draw()
            with self._lock:
                print(file=self.out, flush=True)

    def sent(self, result: UploadResult) -> None:
        if not self.bar:
            retried = f", {result.attempts} tries" if result.attempts > 1 else ""
            self._line(f"{result.key}  {result.status} OK  ({result.bytes / 1e3:.1f} kB{retried})")

    def failed(self, key: str, error: UploadError) -> None:
        self._line(f"{key}  FAILED  {error}")

    def note(self, text: str) -> None:
        self._line(text)

    def _line(self, text: str) -> None:
        with self._lock:
            if self.bar and self._drawn:
                text = "\r" + text.ljust(self._drawn)
                self._drawn = 0
            print(text, file=self.out, flush=True)

    def _redraw(self) -> None:
        while not self._stop.wait(self.refresh):
            self._draw()

    def _draw(self) -> None:
        line = render_bar(self.stats)
        with self._lock:
            self.out.write("\r" + line.ljust(self._drawn))
            self.out.flush()
            self._drawn = len(line)
