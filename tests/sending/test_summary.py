"""The end-of-run summary: percentiles, errors by kind, and the bar a terminal shows."""

from __future__ import annotations

import pytest

from send_test_images.errors import ApiError, StorageError, UploadError
from send_test_images.sending.client import UploadResult
from send_test_images.sending.summary import RunStats, error_kind, format_summary, percentile, summarize


def result(api: float, s3: float, size: int = 1_000_000, attempts: int = 1) -> UploadResult:
    return UploadResult("data/x", 204, api, s3, attempts, size)


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert [percentile(values, q) for q in (50, 90, 99, 100)] == [50.0, 90.0, 99.0, 100.0]
    assert percentile([3.0], 99) == 3.0
    assert percentile([], 50) is None


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (StorageError("x", status=503, code="SlowDown"), "s3 503 SlowDown"),
        (ApiError("x", status=502), "api 502"),
        (StorageError("k: S3 did not answer within 1 s (ReadTimeout)"), "s3 timeout"),
        (ApiError("k: lost the connection to the API at u: reset"), "api connection"),
        (UploadError("k: cannot read /x: gone"), "file error"),
    ],
)
def test_errors_are_counted_by_step_and_status_or_code(error: UploadError, kind: str) -> None:
    assert error_kind(error) == kind


def test_summary_counts_exposures_only_when_all_their_files_arrived() -> None:
    stats = RunStats()
    stats.expect(1, 2)
    stats.expect(2, 2)
    stats.sent(1, result(0.01, 0.10))
    stats.sent(1, result(0.02, 0.20, attempts=3))
    stats.sent(2, result(0.03, 0.30))
    stats.retried(StorageError("x", status=503, code="SlowDown"))
    stats.failed(StorageError("x", status=403, code="AccessDenied"))
    stats.stop_clock()

    report = summarize(stats, run_id="r")

    assert (report["exposures_sent"], report["exposures_total"]) == (1, 2)
    assert (report["files_sent"], report["files_total"], report["files_failed"]) == (3, 4, 1)
    assert report["bytes_sent"] == 3_000_000 and report["retries"] == 2
    assert report["latency_s"]["s3"] == {"p50": 0.2, "p90": 0.3, "p99": 0.3}
    assert report["errors"] == {"s3 503 SlowDown": 1, "s3 403 AccessDenied": 1}
    text = "\n".join(format_summary(report))
    assert "sent 1 exposure(s), 3/4 file(s) made, 3.0 MB" in text
    assert "latency S3 POST: p50 200 ms, p90 300 ms, p99 300 ms" in text
    assert "errors by kind: s3 503 SlowDown: 1, s3 403 AccessDenied: 1" in text


def test_the_summary_counts_against_what_the_run_planned_not_what_it_made() -> None:
    # Ctrl-C at 12 of 200 used to say "sent 12/12 exposure(s)", which reads as done.
    stats = RunStats(exposures_planned=200)
    for number in range(12):
        stats.expect(number, 1)
        stats.sent(number, result(0.01, 0.01))
    stats.stop_clock()
    [first, *_] = format_summary(summarize(stats))
    assert first.startswith("sent 12 of 200 exposure(s), 12/12 file(s) made, ")
