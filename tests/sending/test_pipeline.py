"""`up` through the pipeline, against the scriptable loopback API/S3 (no weed: fast).

What a user notices: every file of every exposure arrives once, under its name; the spool is
emptied unless --out asked to keep the files; a timed run stops and owes nothing; the summary and
--report say what happened, including failed tries that were retried.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from send_test_images.sending import journal, spool

from inprocess import FILES, up
from loopback_server import LoopbackServer, Reply

FILES_PER_EXPOSURE = len(FILES)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


def keys_posted(server: LoopbackServer) -> Counter[str]:
    return Counter(r.fields["key"] for r in server.to("/s3"))


def numbers_of(keys: object) -> set[int]:
    return {int(str(key).split("-")[3]) for key in keys}  # type: ignore[attr-defined]


@pytest.mark.parametrize("workers", [0, 2], ids=["in-process", "generator-processes"])
def test_every_file_of_every_exposure_arrives_once_and_the_spool_is_emptied(
    server: LoopbackServer, workers: int
) -> None:
    ran = up(server.url, repeat=3, workers=workers)

    assert ran.code == 0, ran.err
    posted = keys_posted(server)
    assert len(posted) == 3 * FILES_PER_EXPOSURE
    assert set(posted.values()) == {1}
    assert numbers_of(posted) == {1, 2, 3}
    assert {Path(k).name.split("-", 4)[4] for k in posted} == {"E00.txt", "E10.jpg", "E11.jpg", "E10.fits.fz"}
    state = journal.read(ran.run_id)
    assert state.finished and state.files_left() == 0
    assert not spool.spool_dir(ran.run_id).exists()
    assert f"sent {3 * FILES_PER_EXPOSURE} file(s)" in ran.out


def test_out_keeps_every_sent_file_under_its_name(server: LoopbackServer, tmp_path: Path) -> None:
    ran = up(server.url, repeat=2, out_dir=tmp_path / "kept")

    assert ran.code == 0, ran.err
    kept = {p.name: p.stat().st_size for p in (tmp_path / "kept").iterdir()}
    sent = {Path(k).name: server.objects[k].size for k in keys_posted(server)}
    assert kept == sent


def test_a_timed_run_stops_at_its_cap_and_owes_nothing(server: LoopbackServer) -> None:
    ran = up(server.url, repeat=1, duration=60.0, repeat_cap=3)

    assert ran.code == 0, ran.err
    assert numbers_of(keys_posted(server)) == {1, 2, 3}
    assert journal.read(ran.run_id).finished


def test_a_timed_run_sends_until_the_time_is_up_then_gives_back_unused_numbers(server: LoopbackServer) -> None:
    ran = up(server.url, repeat=1, duration=0.5, rate=10.0, repeat_cap=None)

    assert ran.code == 0, ran.err
    sent = numbers_of(keys_posted(server))
    assert sent == set(range(1, len(sent) + 1))  # consecutive from the first number
    state = journal.read(ran.run_id)
    assert state.finished and state.trimmed_after == max(sent)
    assert len(state.plans[0].numbers) > len(sent)  # a block was reserved; the rest is not owed


def test_the_report_holds_the_summary_and_retried_failures_by_kind(server: LoopbackServer, tmp_path: Path) -> None:
    server.s3_script.append(Reply(502, "bad gateway"))
    report = tmp_path / "report.json"

    ran = up(server.url, repeat=2, report=report)

    assert ran.code == 0, ran.err
    summary = json.loads(report.read_text())
    assert summary["run_id"] == ran.run_id
    assert summary["files_sent"] == summary["files_total"] == 2 * FILES_PER_EXPOSURE
    assert summary["exposures_sent"] == 2
    assert summary["bytes_sent"] == sum(p.size for p in server.objects.values())
    assert summary["errors"] == {"s3 502": 1}
    assert summary["retries"] == 1
    for step in ("api", "s3"):
        pct = summary["latency_s"][step]
        assert 0 < pct["p50"] <= pct["p90"] <= pct["p99"]
    assert "latency S3 POST: p50" in ran.out
    assert "errors by kind: s3 502: 1" in ran.out
