"""Options are typed once, at the parser, and checked before anything starts.

`--timeout 0` used to pass the parser and fail only once the local site was up; now every bad
value stops the command on one line before a site starts or a number is reserved. The defaults
the help promises are the ones the records use, all from send_test_images.defaults.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from send_test_images import cli, defaults, paths
from send_test_images.cli import argtypes, options
from send_test_images.exposure.options import BatchOptions, Location, SensorSize
from send_test_images.exposure.profiles import DEFAULT_CAMERA, DEFAULT_SITE
from send_test_images.exposure.spec import DEFAULT_DATA_TYPE, DEFAULT_FILES, DEFAULT_FITS_FORMAT, DEFAULT_USER_NAME
from send_test_images.exposure.synth import FrameSpec
from send_test_images.localsite import LocalSite
from send_test_images.sending import client, numbering, targets
from send_test_images.sending.options import Destination, RunRequest, SendOptions

from inprocess import run_cli

SENDING_FLAGS = [
    (["--timeout", "0"], "timeout '0' is not allowed: use a number of seconds above 0"),
    (["--timeout", "-1"], "timeout '-1' is not allowed: use a number of seconds above 0"),
    (["--concurrency", "0"], "concurrency '0' is not allowed: use a whole number >= 1"),
    (["--concurrency", "1000"], "concurrency 1000 is not allowed: use 1 to 256"),
    (["--workers", "-1"], "workers '-1' is not allowed: use a whole number >= 0"),
    (["--rate", "0"], "rate '0' is not allowed: use a number of exposures per second from 1/86400 (one a day) up"),
    (["--retries", "-1"], "retries '-1' is not allowed: use a whole number >= 0"),
]


@pytest.fixture
def no_site(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything tries to start (or reach) a local site."""

    def refuse(*args: object, **kwargs: object) -> LocalSite:
        raise AssertionError("a local site was started for a command with a bad value")

    monkeypatch.setattr(LocalSite, "connect_or_start", refuse)


@pytest.mark.parametrize(
    ("argv", "message"),
    [*SENDING_FLAGS, (["--duration", "0"], "duration '0' is not allowed: use a number of seconds above 0")],
)
@pytest.mark.usefixtures("no_site")
def test_a_bad_sending_value_for_up_is_refused_before_the_local_site_starts(argv: list[str], message: str) -> None:
    code, out, err = run_cli("up", "--camera", "sq768", *argv)  # --api local, the default

    assert code == 2
    assert out == ""
    [line] = err.strip().splitlines()
    assert line.startswith("send-test-images: error: ")
    assert message in line
    assert numbering.last_reserved("tst", "inst") is None
    assert not (paths.data_dir() / "site").exists()


@pytest.mark.parametrize(("argv", "message"), SENDING_FLAGS)
@pytest.mark.usefixtures("no_site")
def test_a_bad_sending_value_for_resume_is_refused_before_anything_starts(argv: list[str], message: str) -> None:
    code, out, err = run_cli("resume", *argv)

    assert code == 2
    assert out == ""
    [line] = err.strip().splitlines()
    assert message in line


def test_values_are_typed_by_the_parser() -> None:
    assert argtypes.iso_time("2026-11-24T05:30:00") == dt.datetime(2026, 11, 24, 5, 30, tzinfo=dt.UTC)
    assert argtypes.iso_time("2026-11-24T05:30:00+01:00").utcoffset() == dt.timedelta(hours=1)
    assert argtypes.location("-30.5,-70.7") == Location(-30.5, -70.7)
    assert argtypes.location("10,20,30") == Location(10.0, 20.0, 30.0)
    assert argtypes.sensor_size("2048X1536") == SensorSize(2048, 1536)
    assert argtypes.api(" PROD ") == "https://api.photonranch.org/api"
    assert argtypes.channel("2") == 2
    with pytest.raises(argtypes.ValueRefused, match="info channel 'x' is not allowed: use 1, 2 or 3"):
        argtypes.channel("x")


def test_the_parser_gives_each_command_one_typed_record() -> None:
    args = cli.build_parser().parse_args(
        ["up", "-r", "3", "--duration", "60", "--time", "2026-01-02T03:04:05", "--location=-30,-70",
         "--size", "320x200", "-s3", "info-images", "-c", "2", "--api", "http://127.0.0.1:9/", "--timeout", "5"]
    )
    command = options.from_args(args)

    assert isinstance(command, options.Up) and not command.dry_run
    request = command.request
    assert request.batch == BatchOptions(repeat=3, time=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
                                         location=Location(-30.0, -70.0), size=SensorSize(320, 200))
    assert request.destination == Destination("http://127.0.0.1:9", "info-images", 2)
    assert request.destination.info_channel == 2
    assert request.sending == SendOptions(timeout=5.0)
    assert (request.duration, request.cap) == (60.0, 3)

    resume = options.from_args(cli.build_parser().parse_args(["resume", "RUN", "--workers", "0"]))
    assert resume == options.Resume("RUN", SendOptions(concurrency=None, workers=0))  # the run decides


def test_no_flags_give_the_records_defaults() -> None:
    up = options.from_args(cli.build_parser().parse_args(["up"]))
    assert isinstance(up, options.Up)
    assert up.request == RunRequest()  # every default the help shows is the record's own
    assert up.request.destination.target == targets.LOCAL
    make = options.from_args(cli.build_parser().parse_args(["make"]))
    assert make == options.Make(BatchOptions(), defaults.MAKE_OUT, defaults.MAKE_NUMBER)


def test_library_callers_get_the_same_one_line_refusals() -> None:
    with pytest.raises(ValueError, match="timeout 0 is not allowed: use a number of seconds above 0"):
        SendOptions(timeout=0)
    with pytest.raises(ValueError, match="s3 directory 'photos' is not allowed"):
        Destination(s3_directory="photos")
    with pytest.raises(ValueError, match="duration -1 is not allowed"):
        RunRequest(duration=-1)


def test_the_shared_defaults_agree_with_the_exposure_and_client_modules() -> None:
    frame = FrameSpec()
    assert (frame.kind, frame.image, frame.exptime, frame.filter, frame.seeing_fwhm) == (
        defaults.FRAME, defaults.IMAGE, defaults.EXPTIME, defaults.FILTER, defaults.SEEING
    )
    assert (DEFAULT_CAMERA, DEFAULT_SITE) == (defaults.CAMERA, defaults.SITE)
    assert (DEFAULT_FITS_FORMAT, DEFAULT_USER_NAME) == (defaults.FITS_FORMAT, defaults.USER)
    assert (defaults.FILES, defaults.DATA_TYPE.upper()) == (DEFAULT_FILES, DEFAULT_DATA_TYPE)
    assert (client.DEFAULT_TIMEOUT, client.DEFAULT_RETRIES) == (defaults.TIMEOUT, defaults.RETRIES)


def test_help_shows_the_defaults_module(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["up", "-h"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"uploads in flight at once (default: {defaults.CONCURRENCY})" in text
    assert f"counts as failed (default: {defaults.TIMEOUT:g})" in text
    assert f"exposure time in seconds (default: {defaults.EXPTIME:g};" in text


def test_help_is_fast_and_imports_no_numpy() -> None:
    probe = (
        "import sys\nfrom send_test_images import cli\n"
        "for command in ([], ['up'], ['resume'], ['make'], ['serve']):\n"
        "    try:\n        cli.main([*command, '-h'])\n    except SystemExit:\n        pass\n"
        "heavy = sorted(m for m, module in sys.modules.items()\n"
        "               if module is not None and m.split('.')[0] in ('numpy', 'astropy', 'httpx', 'PIL'))\n"
        "print(heavy, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                            check=False, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "[]"


def test_defaults_module_is_import_light() -> None:
    source = Path(defaults.__file__).read_text()
    assert "import numpy" not in source and "import astropy" not in source
