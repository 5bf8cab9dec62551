"""`up` as a user meets it, end to end into a real local Photon Ranch (weed S3 + API + ingestion
on loopback, never the internet): what lands on the site, under which names and numbers.

CLI runs happen in process (`cli.main` with captured streams), except where the test is about
the process itself (`python up.py`, an unguarded calling script).
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from astropy.io import fits

from send_test_images.exposure.naming import parse
from send_test_images.invocation import command
from send_test_images.localsite import LocalSite
from send_test_images.sending import numbering

from inprocess import SMALL, sent_keys
from inprocess import run_cli as run
from localsite_fixtures import latest, recent_keys, wait_for

pytestmark = pytest.mark.s3

REPO = Path(__file__).resolve().parents[2]


def test_a_refused_presign_is_reported_per_file_and_the_exit_code_is_non_zero(local_site: LocalSite) -> None:
    # An API base URL with a wrong path: the site answers 404, which is not worth retrying.
    code, out, err = run("up", *SMALL, "-f", "h", "--api", local_site.api_url + "/nowhere", "--retries", "0")
    assert code == 1
    assert "FAILED" in out
    assert "404" in out
    assert "1 failed" in err


def test_up_sends_every_file_and_the_image_is_ingested(local_site: LocalSite, tmp_path: Path) -> None:
    code, out, err = run(
        "up", *SMALL, "-s", "cli1", "-dt", "ex", "--inst", "cam1", "-r", "2", "--seed", "5",
        "--filter", "R", "--exptime", "12.5", "--out", str(tmp_path), "--api", local_site.api_url,
    )
    assert code == 0, err
    keys = sent_keys(out)
    assert len(keys) == 10
    assert all(key.startswith("data/cli1-cam1-") and "-EX" in key for key in keys)
    wait_for(lambda: recent_keys(local_site.api_url, "cli1") >= set(keys), "every upload to be recorded")
    bases = sorted({parse(k.removeprefix("data/")).base for k in keys})
    row = wait_for(lambda: latest(local_site.api_url, "cli1", bases[-1]), "the newest image to be listed")
    assert row["filter_used"] == "R"
    assert row["exposure_time"] == 12.5
    assert row["fits_01_exists"] and row["fits_10_exists"] and row["jpg_small_exists"]
    # the header that was sent is the header the site stored, and it matches the FITS on disk
    stored = httpx.get(f"{local_site.api_url}/fitsheader/{bases[-1]}").json()
    with fits.open(tmp_path / f"{bases[-1]}-EX00.fits.fz") as hdul:
        assert stored["DATE-OBS"] == hdul[1].header["DATE-OBS"]
        assert float(stored["CRVAL1"]) == pytest.approx(hdul[1].header["CRVAL1"])
    # a second run continues the numbering instead of colliding
    code, out, _ = run("up", *SMALL, "-s", "cli1", "--inst", "cam1", "-f", "h", "--api", local_site.api_url)
    assert code == 0
    (key,) = sent_keys(out)
    assert parse(key.removeprefix("data/")).number == max(parse(k.removeprefix("data/")).number for k in keys) + 1


def test_numbers_are_reconciled_with_what_the_server_already_has(local_site: LocalSite) -> None:
    # Another machine (an empty counter here) must not reuse numbers the site already holds.
    assert run("up", *SMALL, "-s", "cli2", "-f", "hj", "-r", "3", "--api", local_site.api_url)[0] == 0
    wait_for(lambda: httpx.get(f"{local_site.api_url}/cli2/latest_images/10").json(), "cli2 images")
    numbering.counter_path("cli2", "inst").unlink()
    code, out, _ = run("up", *SMALL, "-s", "cli2", "-f", "h", "--api", local_site.api_url)
    assert code == 0
    (key,) = sent_keys(out)
    assert parse(key.removeprefix("data/")).number == 4


def test_smartstack_frames_have_their_own_numbers_and_share_a_stack(local_site: LocalSite) -> None:
    code, out, _ = run("up", *SMALL, "-s", "cli3", "-f", "hj", "-ss", "3", "--api", local_site.api_url)
    assert code == 0
    bases = sorted({parse(k.removeprefix("data/")).base for k in sent_keys(out)})
    assert len(bases) == 3
    headers = [httpx.get(f"{local_site.api_url}/fitsheader/{b}") for b in bases]
    headers = [wait_for(lambda b=b: _header(local_site.api_url, b), f"header of {b}") for b in bases]
    assert len({h["SMARTSTK"] for h in headers}) == 1
    assert headers[0]["SMARTSTK"] != "no"
    assert [int(h["SSTKNUM"]) for h in headers] == [0, 1, 2]
    assert {int(h["SSTKLEN"]) for h in headers} == {3}
    assert len({(h["CRVAL1"], h["CRVAL2"]) for h in headers}) == 1  # one pointing per stack


def test_info_images_go_to_their_channel(local_site: LocalSite) -> None:
    code, out, _ = run("up", *SMALL, "-s", "cli4", "-f", "j", "-s3", "info-images", "-c", "2",
                       "--api", local_site.api_url)
    assert code == 0
    (key,) = sent_keys(out)
    assert key.startswith("info-images/cli4-inst-") and key.endswith("10.jpg")


def test_allsky_is_stored_but_not_ingested(local_site: LocalSite) -> None:
    code, out, _ = run("up", *SMALL, "-s", "cli5", "-f", "hj", "-s3", "allsky", "--api", local_site.api_url)
    assert code == 0
    assert all(k.startswith("allsky/") for k in sent_keys(out))
    assert httpx.get(f"{local_site.api_url}/cli5/latest_images/5").json() == []


def test_up_with_the_default_local_api_starts_a_site_whose_data_persists(tmp_path: Path) -> None:
    data = tmp_path / "site"
    code, out, err = run("up", *SMALL, "-s", "cli6", "-f", "hj", "--data", str(data))
    assert code == 0, err
    # said before the seconds it takes, not only after; and where to look at them afterwards
    assert out.splitlines()[0] == f"starting a local Photon Ranch in {data} (no serve is running on it)…"
    assert "started a local Photon Ranch at http://127.0.0.1:" in out.splitlines()[1]
    assert f"{command('serve', '--data', str(data))}`" in out.splitlines()[-1]
    (base,) = {parse(k.split("/", 1)[1]).base for k in sent_keys(out)}
    with LocalSite.start(data) as site:
        assert wait_for(lambda: latest(site.api_url, "cli6", base), "the image after a restart")


def test_python_up_py_keeps_the_original_flags(local_site: LocalSite) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "up.py"), "-s", "tst", "-f", "fFh", "-r", "3", *SMALL, "--api", local_site.api_url],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    keys = sent_keys(result.stdout)
    assert len(keys) == 9
    assert sorted({k.rsplit("-", 1)[1] for k in keys}) == ["E00.fits.fz", "E00.txt", "E10.fits.fz"]


def test_a_reader_that_goes_away_does_not_stop_the_run(local_site: LocalSite) -> None:
    # `up | head -1`: the reader exits after the first line; every file must still be sent.
    process = subprocess.Popen(
        [sys.executable, str(REPO / "up.py"), "-s", "cli9", "-f", "hjtfF", "-r", "4", *SMALL,
         "--api", local_site.api_url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith("sending 4 exposure(s)")
    process.stdout.close()
    with process.stderr:
        err = process.stderr.read()
    assert process.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err

    def all_recorded() -> set[str] | None:
        keys = recent_keys(local_site.api_url, "cli9")
        return keys if len(keys) >= 20 else None

    keys = wait_for(all_recorded, "every file of the run to be recorded")
    assert len({parse(k.split("/", 1)[1]).base for k in keys}) == 4


def _header(api_url: str, base: str) -> dict[str, str] | None:
    answer = httpx.get(f"{api_url}/fitsheader/{base}")
    return answer.json() if answer.status_code == 200 and answer.json() else None


def test_the_api_can_be_chosen_by_environment_variable(local_site: LocalSite, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEND_TEST_IMAGES_API", local_site.api_url)
    code, out, _ = run("up", *SMALL, "-s", "cli7", "-f", "h")
    assert code == 0
    assert "started a local Photon Ranch" not in out
    assert recent_keys(local_site.api_url, "cli7") == set(sent_keys(out))


def test_an_unguarded_calling_script_just_works(local_site: LocalSite, tmp_path: Path) -> None:
    """Its workers are forked from it, so nothing re-runs the script."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import sys\nfrom send_test_images import cli\n"
        f"sys.exit(cli.main(['up', '--camera', 'sq768', '-f', 'hf', '-r', '3', '--api', {local_site.api_url!r}]))\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("sending 3 exposure(s)") == 1, result.stdout
    assert "sent 3 of 3 exposure(s)" in result.stdout
    assert result.stderr == ""


def test_an_unguarded_calling_script_with_threads_gets_a_clear_error_not_a_traceback(
    local_site: LocalSite, tmp_path: Path
) -> None:
    """A script with a thread of its own gets workers from a forkserver, which re-import the script."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import sys, threading, time\nfrom send_test_images import cli\n"
        "threading.Thread(target=time.sleep, args=(600,), daemon=True).start()\n"
        f"sys.exit(cli.main(['up', '--camera', 'sq768', '-f', 'hf', '-r', '3', '--api', {local_site.api_url!r}]))\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    # Only the caller ran the command: no worker re-ran it (reserving numbers and starting pools of
    # its own), so there is one start line, no traceback, and no leaked-semaphore warnings.
    assert result.stdout.count("sending 3 exposure(s)") == 1, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("send-test-images: error: a generation worker process died")
    assert "if __name__ == '__main__':" in lines[0]


def test_two_runs_in_a_row_follow_each_other_in_time_instead_of_interleaving(local_site: LocalSite) -> None:
    # Each run used to end "now": the second one (3 x 35 s) began a minute before the first ended,
    # and the page, sorted by capture time, shuffled the two.
    def run_once() -> list[str]:
        code, out, err = run("up", *SMALL, "-s", "seq1", "-f", "hj", "-r", "3", "--api", local_site.api_url)
        assert code == 0, err
        bases = sorted({parse(key.removeprefix("data/")).base for key in sent_keys(out)})
        wait_for(lambda: all(latest(local_site.api_url, "seq1", base) for base in bases), "the run to be listed")
        return bases

    def clock(bases: list[str]) -> list[tuple[float, float]]:
        rows = [latest(local_site.api_url, "seq1", base) for base in bases]
        return [(row["capture_date"] / 1000, row["capture_date"] / 1000 + row["exposure_time"])
                for row in rows if row is not None]

    first, second = clock(run_once()), clock(run_once())
    assert len(first) == len(second) == 3
    assert max(end for _, end in first) < min(start for start, _ in second)
    # and it is still a sequence taken at the camera's pace, not squeezed: 30 s + 5 s apart
    starts = sorted(start for start, _ in first + second)
    assert all(later - earlier >= 35 - 0.01 for earlier, later in itertools.pairwise(starts))
