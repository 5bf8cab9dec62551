"""The journal remembers what a run owes, survives a torn last line, and admits one writer."""

from __future__ import annotations

import datetime as dt

import pytest

from send_test_images.errors import UsageError
from send_test_images.exposure.options import BatchOptions
from send_test_images.sending import journal
from send_test_images.sending.journal import FileEntry, Journal, JournalError
from send_test_images.sending.records import RunRecord

NOW = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)


def files(number: int) -> list[FileEntry]:
    base = f"tst-inst-20261123-{number:08d}"
    return [FileEntry(f"{base}-EX00.txt", f"/spool/{base}-EX00.txt", 10),
            FileEntry(f"{base}-EX10.jpg", f"/spool/{base}-EX10.jpg", 20)]


def record(run_id: str = "r1") -> RunRecord:
    return RunRecord(run_id, "local", None, "data", None, None, BatchOptions(), seed=11)


def started(run_id: str = "r1") -> Journal:
    j = Journal.create(record(run_id))
    j.add_plan(range(5, 8), seed=11, now=NOW, time=None)
    return j


@pytest.mark.parametrize("trim", [None, 3, 12, 30])
def test_the_count_of_exposures_never_made_is_the_length_of_their_list(trim: int | None) -> None:
    with Journal.create(record("r2")) as j:
        for block in (range(20, 26), range(1, 4), range(10, 15)):  # blocks, not in number order
            j.add_plan(block, seed=11, now=NOW, time=None)
        for number in (1, 2, 11, 14, 21, 25):
            j.add_exposure(number, files(number))
        if trim is not None:
            j.trim(trim)
    state = journal.read("r2")
    assert state.count_ungenerated() == len(state.ungenerated())


def test_a_run_owes_what_it_reserved_until_each_file_is_marked_sent() -> None:
    with started() as j:
        j.add_exposure(5, files(5))
        j.add_exposure(6, files(6))
        j.mark_sent(files(5)[0].name, "data/x", 1)
        j.mark_sent(files(5)[1].name, "data/y", 2)
        j.mark_failed(files(6)[1].name, "S3 refused")

    state = journal.read("r1")
    assert state.numbers() == [5, 6, 7]
    assert state.ungenerated() == [7]
    assert state.unsent() == {6: files(6)}
    assert state.failures == {files(6)[1].name: "S3 refused"}
    assert not state.finished
    assert state.plans[0].seed == 11 and dt.datetime.fromisoformat(state.plans[0].now) == NOW


def test_trimmed_numbers_are_not_owed_and_done_finishes_the_run() -> None:
    with started() as j:
        j.add_exposure(5, files(5))
        for entry in files(5):
            j.mark_sent(entry.name, "k", 1)
        j.trim(5)
    assert journal.read("r1").finished
    with journal.opened("r1") as j:
        j.mark_done()
    assert journal.read("r1").done


def test_a_torn_last_line_is_ignored_but_a_torn_middle_is_reported() -> None:
    with started() as j:
        j.add_exposure(5, files(5))
    path = journal.journal_path("r1")
    path.write_text(path.read_text() + '{"event": "sent", "na')
    assert journal.read("r1").unsent() == {5: files(5)}

    path.write_text(path.read_text() + '\n{"event": "done"}\n')
    with pytest.raises(JournalError, match="corrupt at line 4"):
        journal.read("r1")


@pytest.mark.parametrize(
    "line",
    [
        '{"event": "plan", "numbers": [8, 9], "now": "2026-11-24T06:00:00+00:00"}',
        '{"event": "plan", "numbers": [8, 9], "seed": 1, "now": "yesterday"}',
        '{"event": "exposure", "number": 8, "files": [{"name": "x"}]}',
        '["not", "an", "event"]',
    ],
    ids=["no-seed", "bad-time", "bad-files", "not-an-object"],
)
def test_a_line_missing_what_resume_needs_is_corruption_not_a_traceback(line: str) -> None:
    with started() as j:
        j.add_exposure(5, files(5))
    path = journal.journal_path("r1")
    path.write_text(path.read_text() + line + "\n" + '{"event": "done"}\n')
    with pytest.raises(JournalError, match="corrupt at line 4: not an event this version knows"):
        journal.read("r1")


def test_one_process_at_a_time_sends_a_run() -> None:
    with started(), pytest.raises(JournalError, match="r1 is being sent by another process"):
        Journal.reopen("r1")
    Journal.reopen("r1").close()  # free again once the first is closed


def test_unknown_and_malformed_run_ids_are_refused_by_name() -> None:
    with pytest.raises(UsageError, match="run 'nope' is not known"):
        journal.read("nope")
    with pytest.raises(UsageError, match=r"run id '\.\./x' is not allowed"):
        journal.read("../x")


def test_run_ids_sort_by_start_time_and_name_the_site() -> None:
    early = journal.new_run_id("tst", NOW)
    late = journal.new_run_id("tst", NOW + dt.timedelta(seconds=1))
    assert early.startswith("20261124T060000Z-tst-") and early < late
    assert journal.new_run_id("tst", NOW) != early
