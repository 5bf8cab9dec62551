"""`--like ptr-observatory` and `make --from-header` on the command line (issue 13)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from astropy.io import fits
from PIL import Image

from send_test_images import cli
from send_test_images.cli import options
from send_test_images.exposure.options import BatchOptions
from send_test_images.sending.records import RunRecord

from inprocess import run_cli as run

TIME = ("--time", "2026-11-24T06:00:00", "--seed", "5")
QUICK = ("--size", "2400x1600")  # the preset's QHY600, cut down (still above 900 px high)


def parsed(*argv: str) -> options.Command:
    return options.from_args(cli.build_parser().parse_args(list(argv)))


def test_like_sends_a_txt_and_a_900_px_jpg_per_exposure_with_the_sites_header(tmp_path: Path) -> None:
    code, _, err = run("make", "--like", "ptr-observatory", *QUICK, *TIME, "-s", "mrc1", "--out", str(tmp_path))
    assert code == 0, err
    names = sorted(p.name for p in tmp_path.iterdir())
    assert [n.split("-", 4)[4] for n in names] == ["EX00.txt", "EX10.jpg"]
    with Image.open(tmp_path / names[1]) as jpg:
        assert jpg.size == (1350, 900)
    header = fits.Header.fromstring((tmp_path / names[0]).read_text())
    assert (header["IMAGETYP"], header["SITEID"], header["XBINING"]) == ("EXPOSE", "mrc", 1)


def test_like_writes_the_large_fits_as_the_archive_does_under_its_origname(tmp_path: Path) -> None:
    code, _, err = run("make", "--like", "ptr-observatory", "--camera", "sq768", *TIME, "-s", "mrc1",
                       "-f", "hjF", "--out", str(tmp_path))
    assert code == 0, err
    names = sorted(p.name for p in tmp_path.iterdir())
    [txt] = [n for n in names if n.endswith(".txt")]
    origname = fits.Header.fromstring((tmp_path / txt).read_text())["ORIGNAME"]
    assert origname.startswith("mrc1-inst_expose_L-") and origname.endswith("-EX00.fits.fz")
    assert sorted(names) == sorted([txt, txt.replace("00.txt", "10.jpg"), origname])
    with fits.open(tmp_path / origname) as hdul:
        assert hdul[1].data.dtype.name == "float32"


def test_flags_given_explicitly_win_over_the_preset() -> None:
    make = parsed("make", "--like", "ptr-observatory", "-f", "hF", "--camera", "sq768", "-dt", "EP")
    assert isinstance(make, options.Make)
    assert (make.batch.files, make.batch.camera, make.batch.data_type) == ("hF", "sq768", "EP")
    plain = parsed("make", "--like", "ptr-observatory")
    assert isinstance(plain, options.Make)
    assert (plain.batch.files, plain.batch.camera, plain.batch.data_type) == ("hj", "qhy600", "EX")


def test_like_sends_info_images_as_the_jpg_alone() -> None:
    """ptr-observatory sends an info image (channel 1 plate solve, 2 focus) as the frame's EX10.jpg."""
    for channel in ("1", "2"):
        up = parsed("up", "--like", "ptr-observatory", "-s3", "info-images", "-c", channel)
        assert isinstance(up, options.Up)
        assert up.request.batch.files == "j" and up.request.destination.info_channel == int(channel)
    told = parsed("up", "--like", "ptr-observatory", "-s3", "info-images", "-f", "hj")
    assert isinstance(told, options.Up) and told.request.batch.files == "hj"
    data = parsed("up", "--like", "ptr-observatory")
    assert isinstance(data, options.Up) and data.request.batch.files == "hj"


def test_like_uploads_one_file_at_a_time_unless_told_otherwise() -> None:
    up = parsed("up", "--like", "ptr-observatory")
    assert isinstance(up, options.Up) and up.request.sending.concurrency == 1
    told = parsed("up", "--like", "ptr-observatory", "--concurrency", "4")
    assert isinstance(told, options.Up) and told.request.sending.concurrency == 4
    default = parsed("up")
    assert isinstance(default, options.Up) and default.request.sending.concurrency == 8


def test_a_smartstack_under_like_has_a_clock_id_of_digits(tmp_path: Path) -> None:
    code, _, err = run("make", "--like", "ptr-observatory", *QUICK, *TIME, "-ss", "3", "-f", "h",
                       "--out", str(tmp_path))
    assert code == 0, err
    headers = [fits.Header.fromstring(p.read_text()) for p in sorted(tmp_path.glob("*.txt"))]
    assert {h["SMARTSTK"] for h in headers} == {"241126060000"}
    assert [h["SSTKNUM"] for h in headers] == [0, 1, 2]
    assert {h["SSTKLEN"] for h in headers} == {3.0}


def test_make_from_header_remakes_the_same_bytes_from_any_sent_file(tmp_path: Path) -> None:
    first = tmp_path / "first"
    code, _, err = run("make", "--camera", "sq768", *TIME, "-ss", "2", "-f", "hjfF", "--frame", "light",
                       "--out", str(first))
    assert code == 0, err
    sent = {p.name: p.read_bytes() for p in first.iterdir()}
    for source in ("EX00.txt", "EX00.fits.fz"):
        for name in [n for n in sent if n.endswith(source.replace("EX", "E"))]:
            again = tmp_path / f"again-{name}"
            code, out, err = run("make", "--from-header", str(first / name), "--out", str(again))
            assert code == 0, err
            base = name.rsplit("-", 1)[0]
            remade = {p.name: p.read_bytes() for p in again.iterdir()}
            assert remade == {n: data for n, data in sent.items() if n.startswith(base)}
            assert "remade exposure" in out


def test_make_from_a_header_sent_alone_draws_its_pixels_with_f(tmp_path: Path) -> None:
    """`up -f h` draws no frame; `make --from-header ... -f F` draws the one it describes."""
    alone, full, again = tmp_path / "alone", tmp_path / "full", tmp_path / "again"
    for folder, files in ((alone, "h"), (full, "hF")):
        code, _, err = run("make", "--camera", "sq768", *TIME, "-f", files, "--out", str(folder))
        assert code == 0, err
    txt = next(alone.glob("*.txt"))
    assert fits.Header.fromstring(txt.read_text())["MEASURED"] == "predicted"
    code, _, err = run("make", "--from-header", str(txt), "-f", "F", "--out", str(again))
    assert code == 0, err
    [remade] = again.glob("*.fits.fz")
    [sent] = full.glob("*.fits.fz")
    assert remade.name == sent.name
    with fits.open(remade) as ours, fits.open(sent) as theirs:
        assert (ours[1].data == theirs[1].data).all()
        assert ours[1].header["MEASURED"] == "pixels"


def test_a_missing_header_file_is_refused_by_name(tmp_path: Path) -> None:
    code, _, err = run("make", "--from-header", str(tmp_path / "nope.txt"))
    assert code == 2
    assert "header file" in err and "is not a file" in err


def test_the_journal_keeps_the_preset_so_resume_remakes_the_same_files() -> None:
    record = RunRecord(run_id="r", target="local", data=None, s3_directory="data", info_channel=None,
                       out_dir=None, options=BatchOptions(like="ptr-observatory", files="hj", stars="synthetic"),
                       seed=3)
    line = record.to_json()
    assert line["format"] == 2
    assert RunRecord.from_json(line, run_id="r", path="journal") == record
    with_sky = replace(record, options=replace(record.options, stars="catalogue"))
    assert with_sky.to_json()["options"]["like"] == "ptr-observatory"  # format 3 keeps it too
    assert RunRecord.from_json(with_sky.to_json(), run_id="r", path="journal") == with_sky
    plain = RunRecord(run_id="r", target="local", data=None, s3_directory="data", info_channel=None,
                      out_dir=None, options=BatchOptions(stars="synthetic"), seed=3).to_json()
    assert plain["format"] == 1 and "like" not in plain["options"]  # older versions still read it


def test_a_resumed_like_run_sends_one_file_at_a_time_unless_told() -> None:
    from send_test_images.sending.options import SendOptions
    from send_test_images.sending.run import concurrency_for

    resumed = options.from_args(cli.build_parser().parse_args(["resume", "RUN"]))
    assert isinstance(resumed, options.Resume) and resumed.sending.concurrency is None
    preset_run = BatchOptions(like="ptr-observatory")
    assert concurrency_for(resumed.sending, preset_run) == 1
    assert concurrency_for(resumed.sending, BatchOptions()) == 8
    assert concurrency_for(SendOptions(concurrency=3), preset_run) == 3
