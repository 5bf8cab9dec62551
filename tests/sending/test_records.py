"""The journal's run line: typed, versioned, read back exactly, and refused rather than misread.

`resume` re-plans a run from this one line, so an old journal must be read as it was meant, and
a line this version cannot read must stop `resume` with one line naming the run and what to do.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from send_test_images.exitcodes import ExitCode
from send_test_images.exposure.options import BatchOptions, Location, SensorSize, Target
from send_test_images.sending import journal
from send_test_images.sending.journal import JournalError
from send_test_images.sending.records import FORMAT, FORMAT_WITH_SKY, RunRecord

from inprocess import resume, run_cli
from loopback_server import LoopbackServer

RUN_ID = "20261124T060000Z-tst-abc123"

OLD_RUN_LINE = (
    '{"event":"run","format":1,"run_id":"20261124T060000Z-tst-abc123","target":"TARGET","data":null,'
    '"s3_directory":"data","info_channel":null,"out_dir":null,"options":{"site":"tst","inst":"old1",'
    '"data_type":"e","files":"hjtf","repeat":2,"smartstack":1,"seed":7,"camera":"sq768","image":"sky",'
    '"frame":"light","exptime":null,"filter":null,"time":null,"fits_format":"fz","truth":false,'
    '"user":"send-test-images","seeing":null,"cosmic_rays":false,"satellite":false,'
    '"location":"-30.5,-70.7,2200","size":null,"pixel_scale":null},"seed":7}'
)
"""A run line exactly as the code before RunRecord wrote it (FORMAT 1: null for a default left alone)."""
OLD_PLAN_LINE = '{"event":"plan","numbers":[5,7],"seed":7,"now":"2026-11-24T06:00:00+00:00","time":null}'


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


def write_journal(*lines: str) -> Path:
    path = journal.journal_path(RUN_ID)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def old_line(target: str = "http://127.0.0.1:9", **changes: object) -> dict[str, object]:
    line = json.loads(OLD_RUN_LINE.replace("TARGET", target))
    line.update(changes)
    return line


def test_a_record_goes_to_json_and_back_unchanged() -> None:
    options = BatchOptions(
        site="abc", inst="cam2", files="hF", repeat=3, smartstack=2, seed=9, camera="sq1k", exptime=12.5,
        filter="R", time=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), truth=True, seeing=3.0,
        location=Location(-30.5, -70.7, 2200.0), size=SensorSize(320, 200), pixel_scale=0.9, stars="synthetic",
    )
    record = RunRecord(RUN_ID, "local", Path("/data/site"), "info-images", 2, Path("/out"), options, seed=9)

    line = json.loads(json.dumps(record.to_json()))

    assert line["format"] == FORMAT == 1  # synthetic stars: the layout older versions read
    assert list(line) == ["event", "format", "run_id", "target", "data", "s3_directory", "info_channel",
                          "out_dir", "options", "seed"]
    assert line["options"]["location"] == "-30.5,-70.7,2200.0" and line["options"]["size"] == "320x200"
    assert RunRecord.from_json(line, run_id=RUN_ID, path="j") == record


@pytest.mark.parametrize("sky", [
    {},
    {"target": Target.parse("M31")},
    {"target": Target.parse("10.5,-20.25"), "stars": "synthetic", "like": "ptr-observatory"},
])
def test_a_run_with_catalogue_stars_or_a_target_is_journaled_as_format_3(sky: dict[str, object]) -> None:
    options = BatchOptions(site="abc", seed=9, **sky)  # type: ignore[arg-type]
    record = RunRecord(RUN_ID, "local", None, "data", None, None, options, seed=9)

    line = json.loads(json.dumps(record.to_json()))

    assert line["format"] == FORMAT_WITH_SKY == 3
    assert line["options"]["stars"] == options.stars
    assert line["options"]["target"] == (str(options.target) if options.target else None)
    assert RunRecord.from_json(line, run_id=RUN_ID, path="j") == record


def test_an_old_format_1_run_line_is_read_as_it_was_meant() -> None:
    record = RunRecord.from_json(json.loads(OLD_RUN_LINE), run_id=RUN_ID, path="j")

    assert record.target == "TARGET" and record.data is None and record.out_dir is None
    assert record.seed == 7
    # null meant "the default": the same values the command line uses today
    assert record.options == BatchOptions(
        site="tst", inst="old1", files="hjtf", repeat=2, camera="sq768", seed=7,
        location=Location(-30.5, -70.7, 2200.0), stars="synthetic",  # made before catalogue stars existed
    )


def test_resume_finishes_a_journal_written_in_the_old_format(server: LoopbackServer) -> None:
    write_journal(OLD_RUN_LINE.replace("TARGET", server.url), OLD_PLAN_LINE)

    again = resume(RUN_ID)

    assert again.code == ExitCode.OK, again.err
    assert f"resuming run {RUN_ID} to {server.url}: 0 file(s) of 0 exposure(s) to send, 2 exposure(s)" in again.out
    names = {key.removeprefix("data/") for key in server.objects}
    assert {int(name.split("-")[3]) for name in names} == {5, 6}
    assert {name.split("-", 4)[4] for name in names} == {"E00.txt", "E10.jpg", "E11.jpg", "E10.fits.fz"}
    assert journal.read(RUN_ID).finished


@pytest.mark.parametrize(
    ("line", "why"),
    [
        # 2 is FORMAT 1 plus `like` (issue 13's --like), 3 adds `stars` and `target` (issue 16)
        (old_line(format=4), "has format 4, and this version of send-test-images reads 1, 2, 3"),
        (old_line(format=None), "has format None"),
        ({k: v for k, v in old_line().items() if k != "target"}, "has no 'target' in its run line"),
        (old_line(options={k: v for k, v in old_line()["options"].items() if k != "files"}),  # type: ignore[attr-defined]
         "has no 'files' in its run line's options"),
        (old_line(options={**old_line()["options"], "focus": 3}),  # type: ignore[dict-item]
         "has 'focus' in its run line's options, which this version does not know"),
        (old_line(seed="7"), "has seed = '7' in its run line, which is not a whole number"),
        (old_line(options={**old_line()["options"], "repeat": True}),  # type: ignore[dict-item]
         "has repeat = True in its run line's options, which is not a whole number"),
        (old_line(options={**old_line()["options"], "location": "north"}),  # type: ignore[dict-item]
         "holds an option this version cannot read (location 'north' is not allowed"),
    ],
)
def test_a_run_line_this_version_cannot_read_is_refused_on_one_line(
    server: LoopbackServer, line: dict[str, object], why: str
) -> None:
    line = {**line, "target": server.url} if "target" in line else line
    write_journal(json.dumps(line), OLD_PLAN_LINE)

    code, out, err = run_cli("resume", RUN_ID)

    assert code == ExitCode.FAILED
    assert out == ""
    [message] = err.strip().splitlines()
    assert message.startswith(f"send-test-images: error: run {RUN_ID} cannot be resumed: its journal ")
    assert why in message
    assert message.endswith("resume it with the version that started it, or delete the journal to forget the run")
    assert not server.requests  # refused before anything was sent
    with pytest.raises(JournalError, match="cannot be resumed"):
        _ = journal.read(RUN_ID).record


def test_an_unreadable_but_finished_run_does_not_stop_resume_finishing_the_others() -> None:
    write_journal(json.dumps(old_line(format=99)), OLD_PLAN_LINE, '{"event":"trim","last":4}')

    code, out, err = run_cli("resume")

    assert code == ExitCode.OK, err
    assert "nothing to resume" in out
