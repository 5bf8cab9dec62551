"""The command line as a user meets it: flags, messages, exit codes, and what lands on the site.

CLI runs happen in process (`cli.main` with captured streams); uploads go to a real local
Photon Ranch (weed S3 + API + ingestion on loopback), never to the internet.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
from astropy.io import fits

from send_test_images import cli
from send_test_images.exposure.naming import parse
from send_test_images.localsite import LocalSite
from send_test_images.sending import numbering

from localsite_fixtures import latest, recent_keys, wait_for

REPO = Path(__file__).resolve().parents[2]
SMALL = ["--camera", "sq768"]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def sent_keys(stdout: str) -> list[str]:
    return [line.split()[0] for line in stdout.splitlines() if " 204 OK" in line]


# --- help and bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "flags"),
    [
        ("up", ["-s", "--site", "-dt", "--data_type", "-f", "--files", "-r", "--repeat", "-s3", "--s3dir",
                "-c", "--channel", "-ss", "--smartstack", "--api", "--seed", "--out", "--dry-run", "--inst",
                "--camera", "--image", "--frame", "--exptime", "--filter", "--time", "--fits-format", "--truth"]),
        ("make", ["--out", "--number", "--seed", "--files", "--camera"]),
        ("serve", ["--host", "--port", "--data"]),
    ],
)
def test_help_documents_every_flag(command: str, flags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main([command, "-h"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for flag in flags:
        assert f"{flag} " in text or f"{flag}," in text or f"{flag}\n" in text, flag


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["-s", "t-s"], "site 't-s' is not allowed: use 3 to 6 letters or digits"),
        (["-f", "hjx"], "files 'hjx' is not allowed: use letters from hjtfF"),
        (["-s3", "photos"], "s3 directory 'photos' is not allowed: use one of data, info-images, allsky, test"),
        (["-c", "4"], "info channel 4 is not allowed: use 1, 2 or 3"),
        (["-dt", "EXP"], "data type 'EXP' is not allowed: use 1 or 2 letters"),
        (["-r", "0"], "repeat '0' is not allowed: use a whole number >= 1"),
        (["-r", "many"], "repeat 'many' is not allowed"),
        (["--api", "staging"], "'staging' is not allowed"),
        (["--time", "yesterday"], "time 'yesterday' is not allowed: use ISO 8601"),
        (["--filter", "Q"], "'Q'"),
        (["--camera", "big"], "invalid choice: 'big'"),
        (["--inst", "my-cam"], "instrument 'my-cam' is not allowed"),
        (["--exptime", "-3"], "exposure time '-3' is not allowed"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_is_reserved(argv: list[str], fragment: str) -> None:
    code, out, err = run("up", *argv)
    assert code == 2
    assert fragment in err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("send-test-images: error: ")
    assert out == ""
    assert numbering.last_reserved("tst", "inst") is None


def test_a_refused_presign_is_reported_per_file_and_the_exit_code_is_non_zero(local_site: LocalSite) -> None:
    # An API base URL with a wrong path: the site answers 404, which is not worth retrying.
    code, out, err = run("up", *SMALL, "-f", "h", "--api", local_site.api_url + "/nowhere", "--retries", "0")
    assert code == 1
    assert "FAILED" in out
    assert "404" in out
    assert "1 failed" in err


# --- make and dry run ----------------------------------------------------------------------------


def test_make_writes_every_file_of_each_exposure_with_valid_names(tmp_path: Path) -> None:
    code, _, _ = run("make", *SMALL, "-r", "2", "--number", "41", "--seed", "3", "--truth", "--out", str(tmp_path))
    assert code == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    products = [n for n in names if not n.endswith(".ecsv")]
    assert len(products) == 10
    parsed = [parse(n) for n in products]
    assert {p.number for p in parsed} == {41, 42}
    assert {(p.level, p.ext) for p in parsed} == {
        ("00", "txt"), ("10", "jpg"), ("11", "jpg"), ("10", "fits.fz"), ("00", "fits.fz")
    }
    assert sum(n.endswith("-truth.ecsv") for n in names) == 2
    assert numbering.last_reserved("tst", "inst") is None  # make sends nothing, reserves nothing


def test_dry_run_names_files_and_sends_nothing() -> None:
    code, out, _ = run("up", *SMALL, "-r", "2", "-f", "hj", "--dry-run", "--api", "http://127.0.0.1:9")
    assert code == 0
    lines = [line for line in out.splitlines() if line.startswith("would send")]
    assert len(lines) == 4
    assert all(line.split()[2].startswith("data/tst-inst-") for line in lines)
    assert numbering.last_reserved("tst", "inst") is None


def test_same_seed_gives_identical_pixels(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        assert run("make", *SMALL, "-f", "F", "--seed", "11", "--out", str(tmp_path / folder))[0] == 0
    (a,), (b,) = (list((tmp_path / f).glob("*.fits.fz")) for f in ("a", "b"))
    with fits.open(a) as fa, fits.open(b) as fb:
        assert np.array_equal(fa[1].data, fb[1].data)
    assert run("make", *SMALL, "-f", "F", "--seed", "12", "--out", str(tmp_path / "c"))[0] == 0
    (c,) = list((tmp_path / "c").glob("*.fits.fz"))
    with fits.open(a) as fa, fits.open(c) as fc:
        assert not np.array_equal(fa[1].data, fc[1].data)


# --- end to end into the local site ------------------------------------------------------------


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
    assert "started a local Photon Ranch at http://127.0.0.1:" in out
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


def _header(api_url: str, base: str) -> dict[str, str] | None:
    answer = httpx.get(f"{api_url}/fitsheader/{base}")
    return answer.json() if answer.status_code == 200 and answer.json() else None


def test_the_api_can_be_chosen_by_environment_variable(local_site: LocalSite, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEND_TEST_IMAGES_API", local_site.api_url)
    code, out, _ = run("up", *SMALL, "-s", "cli7", "-f", "h")
    assert code == 0
    assert "started a local Photon Ranch" not in out
    assert recent_keys(local_site.api_url, "cli7") == set(sent_keys(out))


def test_frame_options_reach_the_pixels_and_the_header(tmp_path: Path) -> None:
    code, _, err = run(
        "make", *SMALL, "-f", "h", "--seeing", "4.5", "--cosmic-rays", "--satellite", "--exptime", "300",
        "--location=-30.5,-70.7,2200", "--frame", "light", "--out", str(tmp_path),
    )
    assert code == 0, err
    (txt,) = tmp_path.glob("*.txt")
    header = fits.Header.fromstring(txt.read_text())
    assert header["SYNTH SEEING_FWHM"] == 4.5
    assert header["SYNTH COSMIC_RAYS"] > 0
    assert header["SYNTH SATELLITE"] == 1
    assert (header["LATITUDE"], header["LONGITUD"], header["HEIGHT"]) == (-30.5, -70.7, 2200.0)
    assert header["ALTITUDE"] > 0


@pytest.mark.parametrize("location", ["north", "95,10", "10", "10,20,30,40", "10,20,99999"])
def test_a_bad_location_is_refused_by_value(location: str) -> None:
    code, _, err = run("make", *SMALL, "--location", location)
    assert code == 2
    assert f"location {location!r} is not allowed: use LAT,LON[,ELEV]" in err


def test_an_unguarded_calling_script_gets_a_clear_error_not_a_traceback(local_site: LocalSite, tmp_path: Path) -> None:
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import sys\nfrom send_test_images import cli\n"
        f"sys.exit(cli.main(['up', '--camera', 'sq768', '-f', 'h', '-r', '2', '--api', {local_site.api_url!r}]))\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    # Only the caller ran the command: no worker re-ran it (reserving numbers and starting pools of
    # its own), so there is one start line, no traceback, and no leaked-semaphore warnings.
    assert result.stdout.count("sending 2 exposure(s)") == 1, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("send-test-images: error: a generation worker process died")
    assert "if __name__ == '__main__':" in lines[0]


def test_the_camera_profile_can_be_overridden(tmp_path: Path) -> None:
    code, _, err = run("make", "--camera", "sq1k", "--size", "320x200", "--pixel-scale", "0.9", "-f", "hF",
                       "--out", str(tmp_path))
    assert code == 0, err
    (fz,) = tmp_path.glob("*.fits.fz")
    with fits.open(fz) as hdul:
        assert hdul[1].data.shape == (200, 320)
        assert hdul[1].header["PIXSCALE"] == 0.9
        assert abs(hdul[1].header["CDELT2"]) == pytest.approx(0.9 / 3600)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--size", "big"], "size 'big' is not allowed: use WIDTHxHEIGHT in pixels"),
        (["--size", "10x10"], "size '10x10' is not allowed"),
        (["--pixel-scale", "-1"], "pixel scale '-1' is not allowed: use a number of arcsec per pixel"),
        (["--pixel-scale", "500"], "pixel scale 500.0 is not allowed: use 0.01 to 100"),
        (["--seeing", "x"], "seeing 'x' is not allowed: use a number of arcsec"),
    ],
)
def test_bad_camera_overrides_are_refused_by_value(argv: list[str], message: str) -> None:
    code, _, err = run("make", *argv)
    assert code == 2
    assert message in err
