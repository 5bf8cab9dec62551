"""`make` and `up --dry-run`: files written or named, nothing sent, no number reserved."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from send_test_images.exposure.naming import parse
from send_test_images.sending import numbering

from inprocess import SMALL
from inprocess import run_cli as run


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


def test_frame_options_reach_the_pixels_and_the_header(tmp_path: Path) -> None:
    code, _, err = run(
        "make", *SMALL, "-f", "hf", "--seeing", "4.5", "--cosmic-rays", "--satellite", "--exptime", "300",
        "--location=-30.5,-70.7,2200", "--frame", "light", "--out", str(tmp_path),
    )
    assert code == 0, err
    (txt,) = tmp_path.glob("*.txt")
    header = fits.Header.fromstring(txt.read_text())
    # issue 13: provenance is one `HISTORY synth name=value` card per setting (the service's
    # 80-byte reader took the earlier HIERARCH SYNTH cards as one junk key)
    history = {str(line).split("=", 1)[0]: str(line).split("=", 1)[1]
               for line in header["HISTORY"] if "=" in str(line)}
    assert float(history["synth frame.seeing_fwhm"]) == 4.5
    assert int(history["synth param.cosmic_rays"]) > 0
    assert history["synth frame.satellite"] == "True"
    assert (header["LATITUDE"], header["LONGITUD"], header["HEIGHT"]) == (-30.5, -70.7, 2200.0)
    assert header["ALTITUDE"] > 0


def test_the_camera_profile_can_be_overridden(tmp_path: Path) -> None:
    code, _, err = run("make", "--camera", "sq1k", "--size", "320x200", "--pixel-scale", "0.9", "-f", "hF",
                       "--out", str(tmp_path))
    assert code == 0, err
    (fz,) = tmp_path.glob("*.fits.fz")
    with fits.open(fz) as hdul:
        assert hdul[1].data.shape == (200, 320)
        assert hdul[1].header["PIXSCALE"] == 0.9
        assert abs(hdul[1].header["CDELT2"]) == pytest.approx(0.9 / 3600)
