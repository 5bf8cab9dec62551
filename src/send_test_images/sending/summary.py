"""What a run did, counted as it happens and told at the end (text, or JSON with --report).

`RunStats` is filled by the upload threads; its `errors` count every failed try by kind
(retried ones too, so a flaky server shows even when nothing was lost); `summarize` turns it into a plain dict (the JSON
report), and `format_summary` into the lines printed at the end of a run.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from send_test_images.errors import ApiError, SendTestImagesError, StorageError, UploadError, UsageError
from send_test_images.sending.client import UploadResult

PERCENTILES = (50, 90, 99)
MB = 1e6


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (the smallest value with at least q% of values at or below it)."""
    if not values:
        return None
    if not 0 <= q <= 100:
        raise UsageError(f"percentile {q!r} is not allowed: use 0 to 100")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def error_kind(error: UploadError) -> str:
    """A short, countable name for what went wrong: which step, and the status or S3 code."""
    step = "api" if isinstance(error, ApiError) else "s3" if isinstance(error, StorageError) else "file"
    if error.code:
        return f"{step} {error.status} {error.code}"
    if error.status is not None:
        return f"{step} {error.status}"
    text = str(error)
    if "did not answer within" in text:
        return f"{step} timeout"
    if "lost the connection" in text:
        return f"{step} connection"
    return f"{step} error"


@dataclass
class RunStats:
    """Counters shared by the upload threads; read by the progress display and the summary."""

    files_total: int = 0
    exposures_total: int = 0
    exposures_planned: int | None = None
    """How many exposures the run means to send, when known in advance (the bar's total, the
    summary's "12 of 200"); None for a timed run."""
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    files_sent: int = 0
    exposures_sent: int = 0
    bytes_sent: int = 0
    files_failed: int = 0
    retries: int = 0
    api_seconds: list[float] = field(default_factory=list)
    s3_seconds: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    _files_left: dict[int, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def expect(self, number: int, files: int) -> None:
        """An exposure with this many files to send has been released to the uploaders."""
        with self._lock:
            self._files_left[number] = self._files_left.get(number, 0) + files
            self.files_total += files
            self.exposures_total += 1

    def sent(self, number: int, result: UploadResult) -> None:
        with self._lock:
            self.files_sent += 1
            self.bytes_sent += result.bytes
            self.retries += result.attempts - 1
            self.api_seconds.append(result.api_seconds)
            self.s3_seconds.append(result.s3_seconds)
            left = self._files_left.get(number, 0) - 1
            self._files_left[number] = left
            if left == 0:
                self.exposures_sent += 1

    def retried(self, error: UploadError) -> None:
        """One failed try that will be tried again: counted by kind, the file is not lost."""
        with self._lock:
            self.errors[error_kind(error)] += 1

    def failed(self, error: SendTestImagesError, retries: int = 0) -> None:
        """A file given up on for this run (it stays owed in the journal) after `retries` retries.

        Those retries count in `retries` as a sent file's do: a run against a dead server used to
        say "0 retries" after thousands of them.
        """
        with self._lock:
            self.files_failed += 1
            self.retries += retries
            kind = error_kind(error) if isinstance(error, UploadError) else type(error).__name__
            self.errors[kind] += 1

    def stopped(self, retries: int) -> None:
        """A file left mid-retry because the run stopped (Ctrl-C, the target down): still owed,
        and the retries it made are counted like any other."""
        with self._lock:
            self.retries += retries

    def stop_clock(self) -> None:
        self.finished = time.monotonic()

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started


def summarize(stats: RunStats, **extra: Any) -> dict[str, Any]:
    """The run in plain values: what the JSON report holds and the text summary shows."""
    elapsed = stats.elapsed
    rate = (lambda n: n / elapsed) if elapsed > 0 else (lambda n: 0.0)
    return {
        **extra,
        "exposures_sent": stats.exposures_sent,
        "exposures_total": stats.exposures_total,
        "exposures_planned": stats.exposures_planned,
        "files_sent": stats.files_sent,
        "files_total": stats.files_total,
        "files_failed": stats.files_failed,
        "bytes_sent": stats.bytes_sent,
        "elapsed_s": round(elapsed, 3),
        "exposures_per_s": round(rate(stats.exposures_sent), 3),
        "files_per_s": round(rate(stats.files_sent), 3),
        "mb_per_s": round(rate(stats.bytes_sent) / MB, 3),
        "retries": stats.retries,
        "latency_s": {
            "api": _percentiles(stats.api_seconds),
            "s3": _percentiles(stats.s3_seconds),
        },
        "errors": dict(stats.errors.most_common()),
    }


def _percentiles(values: Sequence[float]) -> dict[str, float | None]:
    return {f"p{q}": _round(percentile(values, q)) for q in PERCENTILES}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def format_summary(report: dict[str, Any]) -> list[str]:
    """A few lines a person reads at the end of a run."""
    planned = report.get("exposures_planned")
    # "of the run's", not "of those made so far": after Ctrl-C at 12 of 200, "12/12" read as done.
    of = f" of {planned}" if planned is not None else ""
    lines = [
        f"sent {report['exposures_sent']}{of} exposure(s), "
        f"{report['files_sent']}/{report['files_total']} file(s) made, {report['bytes_sent'] / MB:.1f} MB "
        f"in {report['elapsed_s']:.1f} s: {report['exposures_per_s']:.2f} exposures/s, "
        f"{report['mb_per_s']:.2f} MB/s, {report['retries']} retries",
    ]
    for step, label in (("api", "API presign"), ("s3", "S3 POST")):
        pct = report["latency_s"][step]
        if pct["p50"] is not None:
            shown = ", ".join(f"{name} {value * 1000:.0f} ms" for name, value in pct.items())
            lines.append(f"latency {label}: {shown}")
    if report["errors"]:
        shown = ", ".join(f"{kind}: {count}" for kind, count in report["errors"].items())
        lines.append(f"errors by kind: {shown}")
    return lines


def write_report(path: Path, report: dict[str, Any]) -> None:
    try:
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"report file {str(path)!r} is not writable: {exc.strerror or exc}") from exc
