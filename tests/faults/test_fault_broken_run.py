"""Issue 11, item 3: one run that crashed after reserving does not stop `resume` finishing the others.

A run journaled its plan and then could not make its exposures (here a seeing of 1e-300, which
divides by zero while the stars are drawn; `--time 0001-01-01` overflows the same way). `resume`
without a run id used to die on it with a traceback and never reach the runs after it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from send_test_images.exitcodes import ExitCode
from send_test_images.exposure.options import BatchOptions
from send_test_images.invocation import command
from send_test_images.sending import journal
from send_test_images.sending.journal import Journal
from send_test_images.sending.records import RunRecord

from inprocess import CAMERA, FILES, resume, run_cli, up
from loopback_server import LoopbackServer, s3_error

EARLIER = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
YEAR_ONE = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
BROKEN = ("could not be made", "is not allowed")
"""Why such a run is skipped: making it fails today; once `BatchOptions` refuses these values
itself, reading its journal line does, with the rule's own words."""


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


def crashed_run(api_url: str, option: str, bad: str) -> str:
    """A run journaled with its plan, whose exposures cannot be made: `option` is `bad` (JSON text).

    Written by hand rather than by `up`, which may refuse such values at parse time by now.
    """
    run_id = journal.new_run_id("tst", EARLIER)
    good = BatchOptions(site="tst", inst="broke", files=FILES, repeat=2, camera=CAMERA, seed=5)
    with Journal.create(RunRecord(run_id, api_url, None, "data", None, None, good, seed=5)) as j:
        j.add_plan(range(1, 3), seed=5, now=EARLIER, time=YEAR_ONE if option == "time" else None)
    path = journal.journal_path(run_id)
    lines = path.read_text().splitlines()
    assert f'"{option}":' in lines[0]
    before, after = lines[0].split(f'"{option}":', 1)
    lines[0] = before + f'"{option}":{bad}' + after[after.index(","):]
    path.write_text("\n".join(lines) + "\n")
    return run_id


@pytest.mark.parametrize(("option", "bad"), [("seeing", "1e-300"), ("time", '"0001-01-01T00:00:00+00:00"')])
def test_resume_skips_a_broken_run_with_one_line_and_finishes_the_others(
    server: LoopbackServer, option: str, bad: str
) -> None:
    broken = crashed_run(server.url, option, bad)
    server.s3_script.append(s3_error(403, "AccessDenied", "refused once by a test"))
    later = up(server.url, inst="fine", repeat=1, concurrency=1)
    assert later.code == ExitCode.FAILED

    done = resume()

    assert done.code == ExitCode.FAILED  # something was skipped
    skipped = [line for line in done.err.splitlines() if "skipped" in line]
    assert len(skipped) == 1, done.err
    assert skipped[0].startswith(f"send-test-images: skipped run {broken}: ")
    assert any(why in skipped[0] for why in BROKEN)
    assert "Traceback" not in done.err
    assert journal.read(later.run_id).finished  # the run after the broken one was finished
    assert len(server.objects) == len(FILES)
    assert not journal.read(broken).finished  # still owed, not forgotten


def test_resume_of_the_broken_run_by_its_id_fails_with_one_line_and_the_hint(server: LoopbackServer) -> None:
    broken = crashed_run(server.url, "seeing", "1e-300")

    code, _, err = run_cli("resume", broken)

    assert code == ExitCode.FAILED
    [line] = err.strip().splitlines()
    assert line.startswith("send-test-images: error: ") and any(why in line for why in BROKEN)
    assert line.endswith(f"send the rest with: {command('resume', broken)}")


def test_resume_skips_a_journal_with_a_line_missing_keys_with_one_line(server: LoopbackServer) -> None:
    """Item 8's second half: a line missing what resume needs is corruption, told in one line."""
    broken = crashed_run(server.url, "seeing", "2.5")  # a good run ...
    path = journal.journal_path(broken)
    path.write_text(path.read_text() + '{"event": "exposure", "number": 1}\n{"event": "done"}\n')  # ... damaged

    code, out, err = run_cli("resume")

    assert code == ExitCode.FAILED
    assert "nothing to resume" not in out
    assert err.strip().splitlines() == [
        f"send-test-images: skipped run {broken}: journal {path} is corrupt at line 3: not an event this version knows"
    ]
