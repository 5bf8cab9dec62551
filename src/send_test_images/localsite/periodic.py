"""Do one piece of work every few seconds on a thread of its own: expiry sweeps, bucket listings.

A failed round is reported and the next one tries again (S3 away for a moment must not end the
site's housekeeping); `stop()` ends the wait at once instead of after the interval.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Periodic:
    """Calls `work()` now, then every `interval` seconds, until `stop()`; `failed(exc)` hears
    each round that raised."""

    def __init__(self, name: str, work: Callable[[], object], interval: float,
                 failed: Callable[[Exception], None]) -> None:
        self.name = name
        self.work = work
        self.interval = interval
        self.failed = failed
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while True:
            try:
                self.work()
            except Exception as exc:
                self.failed(exc)
            if self._stopping.wait(self.interval):
                return
