"""The command line's input: every flag documented, and every bad value refused on one line.

A bad value gets one line naming it and what is allowed, exit code 2, and nothing starts: no
local site, no reserved number (tests/cli/test_options.py checks the sending options the same way).
"""

from __future__ import annotations

import pytest

from send_test_images import cli
from send_test_images.sending import numbering

from inprocess import SMALL
from inprocess import run_cli as run


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
        (["-r", "0"], "repeat '0' is not allowed: use a whole number from 1 to 99999999"),
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


@pytest.mark.parametrize("location", ["north", "95,10", "10", "10,20,30,40", "10,20,99999"])
def test_a_bad_location_is_refused_by_value(location: str) -> None:
    code, _, err = run("make", *SMALL, "--location", location)
    assert code == 2
    assert f"location {location!r} is not allowed: use LAT,LON[,ELEV]" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--size", "big"], "size 'big' is not allowed: use WIDTHxHEIGHT in pixels"),
        (["--size", "10x10"], "size '10x10' is not allowed"),
        (["--pixel-scale", "-1"], "pixel scale '-1' is not allowed: use 0.01 to 100 arcsec per pixel"),
        (["--pixel-scale", "500"], "pixel scale '500' is not allowed: use 0.01 to 100 arcsec per pixel"),
        (["--seeing", "x"], "seeing 'x' is not allowed: use 0.05 to 30 arcsec"),
    ],
)
def test_bad_camera_overrides_are_refused_by_value(argv: list[str], message: str) -> None:
    code, _, err = run("make", *argv)
    assert code == 2
    assert message in err
