"""One `Run` owns a run: `up` and `resume` are its two callers, and the library never prints.

Against the scriptable loopback API/S3 (no weed): a library caller sends a run, hears about it
only through typed events, gets a typed result, and finishes what is owed through the same Run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from send_test_images.exitcodes import ExitCode
from send_test_images.exposure.options import BatchOptions
from send_test_images.sending import events, journal
from send_test_images.sending import run as sending_run
from send_test_images.sending.options import Destination, RunRequest

from inprocess import CAMERA, FILES, send_options
from loopback_server import LoopbackServer, s3_error


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


def request(api_url: str, repeat: int = 2, files: str = FILES) -> RunRequest:
    batch = BatchOptions(inst="lib", files=files, repeat=repeat, camera=CAMERA, seed=3)
    return RunRequest(batch=batch, destination=Destination(target=api_url), sending=send_options(concurrency=1))


def kinds(seen: list[events.Event]) -> list[str]:
    """Event names in order, with the per-file ones (whose order threads decide) left out."""
    return [type(e).__name__ for e in seen if not isinstance(e, events.FileSent | events.FileFailed)]


def test_a_library_caller_sends_and_resumes_a_run_through_events_without_printing(
    server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.s3_script.append(s3_error(403, "AccessDenied", "refused once"))
    seen: list[events.Event] = []

    first = sending_run.send_new(request(server.url), observe=seen.append)

    assert kinds(seen) == ["RunStarted", "SendingStarted", "SendingStopped", "RunSettled", "RunOwes"]
    started = seen[0]
    assert isinstance(started, events.RunStarted)
    assert (started.run_id, started.api_url, started.first_number, started.seed) == (first.run_id, server.url, 1, 3)
    [failed] = [e for e in seen if isinstance(e, events.FileFailed)]
    assert "403 AccessDenied" in str(failed.error)
    assert sum(isinstance(e, events.FileSent) for e in seen) == 2 * len(FILES) - 1
    assert (first.files_left, first.exposures_not_made, first.exit_code) == (1, 0, ExitCode.FAILED)
    assert first.summary["files_sent"] == 2 * len(FILES) - 1

    seen.clear()
    [again] = sending_run.resume(first.run_id, send_options(), observe=seen.append)

    assert kinds(seen) == ["RunReopened", "SendingStarted", "SendingStopped", "RunSettled"]
    reopened = seen[0]
    assert isinstance(reopened, events.RunReopened)
    assert (reopened.files_owed, reopened.exposures_owed, reopened.exposures_to_make) == (1, 1, 0)
    assert (again.run_id, again.exit_code, again.stats.files_sent) == (first.run_id, ExitCode.OK, 1)
    assert len(server.objects) == 2 * len(FILES)
    assert journal.read(first.run_id).done
    assert capsys.readouterr() == ("", "")  # the library said nothing: the events said it all

    assert sending_run.resume(first.run_id, observe=seen.append) == []
    assert seen[-1] == events.NothingOwed(first.run_id)


def test_run_start_and_reopen_hold_the_journal_until_closed(server: LoopbackServer) -> None:
    wanted = request(server.url, repeat=1)
    seed = sending_run.check(wanted)

    with sending_run.Run.start(wanted, server.url, seed=seed) as run:
        with pytest.raises(journal.JournalError, match="being sent by another process"):
            journal.Journal.reopen(run.run_id)
        assert journal.read(run.run_id).record == run.record
        assert journal.read(run.run_id).ungenerated() == [1]

    with sending_run.Run.reopen(run.run_id, server.url, send_options()) as again:
        assert again.planned == 1
        result = again.settle(again.send())
    assert result.exit_code == ExitCode.OK
    assert sorted(int(k.split("-")[3]) for k in server.objects) == [1] * len(FILES)


def test_one_or_two_exposures_start_no_generator_process_and_more_start_no_more_than_they_use() -> None:
    """A worker pays for its own first exposure; the run's first is made in its own process."""
    assert sending_run.workers_for(2, 1) == 0
    assert sending_run.workers_for(2, 0) == 0
    assert sending_run.workers_for(2, 2) == 0
    assert sending_run.workers_for(2, 3) == 2
    assert sending_run.workers_for(4, 3) == 2
    assert sending_run.workers_for(0, 50) == 0
    assert sending_run.workers_for(1, None) == 1


def test_a_one_exposure_run_is_made_in_the_runs_own_process(server: LoopbackServer) -> None:
    wanted = request(server.url, repeat=1)
    with sending_run.Run.start(wanted, server.url, seed=sending_run.check(wanted)) as started:
        assert started.settings.workers == 0


def test_a_header_only_run_starts_no_generator_process_and_sends_every_header(
    server: LoopbackServer,
) -> None:
    """-f h draws no pixels, so a pool would only cost its start-up; the truth file needs them."""
    assert sending_run.workers_for(2, 50, draws_pixels=False) == 0
    assert sending_run.workers_for(2, None, draws_pixels=False) == 0
    wanted = request(server.url, repeat=6, files="h")
    with sending_run.Run.start(wanted, server.url, seed=sending_run.check(wanted)) as started:
        assert started.settings.workers == 0
        result = started.settle(started.send())
    assert result.exit_code == ExitCode.OK
    assert len(server.objects) == 6
    assert all(key.endswith("00.txt") for key in server.objects)


def test_a_like_runs_archive_fits_is_kept_in_out_and_never_sent(server: LoopbackServer, tmp_path: Path) -> None:
    """ptr-observatory sends its float32 archive FITS to the LCO archive, not to Photon Ranch."""
    batch = BatchOptions(inst="lib", files="hF", repeat=2, camera=CAMERA, seed=3, like="ptr-observatory",
                         data_type="EX")
    wanted = RunRequest(batch=batch, destination=Destination(target=server.url), sending=send_options(),
                        out_dir=tmp_path)
    with sending_run.Run.start(wanted, server.url, seed=sending_run.check(wanted)) as started:
        result = started.settle(started.send())
    assert result.exit_code == ExitCode.OK
    assert sorted(key.rsplit("-", 1)[1] for key in server.objects) == ["EX00.txt", "EX00.txt"]
    archives = sorted(p.name for p in tmp_path.glob("*_expose_L-*-EX00.fits.fz"))
    assert len(archives) == 2 and all(name.startswith("tst-lib_expose_L-") for name in archives)
