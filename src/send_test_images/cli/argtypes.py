"""argparse `type=` functions: command-line text -> typed values, refused at parse time.

Every value is typed here, once, so a bad one stops the command before a local site starts or a
number is reserved. The rules themselves live with the values (exposure/options.py for times,
places and sizes; sending/targets.py for where files may go); these functions only bind them to
the parser.

Two kinds of refusal, so every error line reads as it always has:

- numbers (`-r 0`, `--timeout 0`) raise `argparse.ArgumentTypeError`: argparse names the flag,
  `send-test-images: error: argument -r/--repeat: repeat '0' is not allowed: ... (see '... -h')`;
- values with a rule of their own (`--time`, `--location`, `--size`, `-s3`, `-c`, `--api`) raise
  `ValueRefused`, which argparse lets through untouched (it is not a ValueError), so the line is
  the rule's own message: `send-test-images: error: time 'yesterday' is not allowed: ...`.

Import-light (no numpy): `-h` goes through here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from send_test_images.errors import SendTestImagesError, UsageError
from send_test_images.exitcodes import ExitCode
from send_test_images.exposure.options import Location, SensorSize, Target, parse_time
from send_test_images.sending import targets

BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
"""S3's bucket naming rules (`..` is refused apart)."""

T = TypeVar("T")
V = TypeVar("V")


class ValueRefused(SendTestImagesError):
    """A command-line value broke its rule; the message is the rule's own one line (exit 2).

    Deliberately not a ValueError: argparse would swallow that into "invalid value".
    """

    exit_code = ExitCode.USAGE


def whole_number(what: str, *, minimum: int = 1, maximum: int | None = None) -> Callable[[str], int]:
    """A whole number in range (`--repeat`, `--concurrency`, `--retries`, `--port`, ...)."""
    allowed = f"a whole number >= {minimum}" if maximum is None else f"a whole number from {minimum} to {maximum}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"{what} {text!r} is not allowed: use {allowed}")
        return value

    return parse


def above_zero(what: str, unit: str, *, lowest: float | None = None, highest: float | None = None,
               lowest_text: str | None = None) -> Callable[[str], float]:
    """A finite number above 0 (`--rate`, `--duration`, `--timeout`), and within what a run can wait.

    `lowest`/`highest` keep values out that pass "above 0" but break the run later: a rate of
    1e-300 exposures per second is a wait longer than any clock can sleep.
    """
    allowed = f"a number of {unit} above 0"
    if lowest is not None:
        allowed = f"a number of {unit} from {lowest_text or f'{lowest:g}'}"
        allowed += f" to {highest:g}" if highest is not None else " up"
    elif highest is not None:
        allowed += f", at most {highest:g}"

    def parse(text: str) -> float:
        value = _finite(text)
        too_low = value is not None and lowest is not None and value < lowest
        too_high = value is not None and highest is not None and value > highest
        if value is None or not value > 0 or too_low or too_high:
            raise argparse.ArgumentTypeError(f"{what} {text!r} is not allowed: use {allowed}")
        return value

    return parse


def at_least_zero(what: str, unit: str = "seconds", *, highest: float | None = None) -> Callable[[str], float]:
    """A finite number >= 0, at most `highest` (`--exptime`)."""
    allowed = f"a number of {unit} >= 0" + (f", at most {highest:g}" if highest is not None else "")

    def parse(text: str) -> float:
        value = _finite(text)
        if value is None or not value >= 0 or (highest is not None and value > highest):
            raise argparse.ArgumentTypeError(f"{what} {text!r} is not allowed: use {allowed}")
        return value

    return parse


def number_in(what: str, unit: str, low: float, high: float) -> Callable[[str], float]:
    """A finite number from `low` to `high` (`--seeing`, `--pixel-scale`)."""

    def parse(text: str) -> float:
        value = _finite(text)
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} {text!r} is not allowed: use {low:g} to {high:g} {unit}")
        return value

    return parse


def folder(what: str) -> Callable[[str], Path]:
    """A folder to write into (`--out`, `--data`): it exists as a folder we may write, or can be made.

    Checked here so a file or a read-only folder is refused before anything is reserved, not
    found when the first exposure is written.
    """

    def parse(text: str) -> Path:
        path = Path(text).expanduser()
        if path.exists() and not path.is_dir():
            raise ValueRefused(f"{what} {text!r} is not allowed: it is a file; use a folder")
        _writable(what, text, path)
        return path

    return parse


def header_file(text: str) -> Path:
    """`make --from-header FILE`: an existing file to read a header from."""
    path = Path(text).expanduser()
    if not path.is_file():
        raise ValueRefused(
            f"header file {text!r} is not allowed: it is not a file; use a sent exposure's .txt, "
            ".fits.fz or .fits.bz2"
        )
    return path


def report_file(text: str) -> Path:
    """`--report FILE`: refused now if the summary could not be written there at the end."""
    path = Path(text).expanduser()
    if path.is_dir():
        raise ValueRefused(f"report {text!r} is not allowed: it is a folder; use a file name")
    if not path.parent.is_dir():
        raise ValueRefused(
            f"report {text!r} is not allowed: its folder does not exist; use a file in an existing folder"
        )
    _writable("report", text, path.parent if not path.exists() else path)
    return path


def _writable(what: str, text: str, path: Path) -> None:
    """The path, or the nearest folder above it that exists, must be writable by us."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not os.access(probe, os.W_OK):
        raise ValueRefused(f"{what} {text!r} is not allowed: {probe} is not writable; use a folder you can write")
    if probe.exists() and probe.is_file() and probe != path:
        raise ValueRefused(f"{what} {text!r} is not allowed: {probe} is a file; use a folder")


def _finite(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def iso_time(text: str) -> dt.datetime:
    """`--time`: ISO 8601 -> an aware datetime (UTC when no zone is given)."""
    return _refused_as_is(parse_time, text)


def location(text: str) -> Location:
    """`--location LAT,LON[,ELEV]` -> Location."""
    return _refused_as_is(Location.parse, text)


def sensor_size(text: str) -> SensorSize:
    """`--size WxH` -> SensorSize."""
    return _refused_as_is(SensorSize.parse, text)


def target(text: str) -> Target:
    """`--target NAME|RA,DEC` -> Target."""
    return _refused_as_is(Target.parse, text)


def s3_directory(text: str) -> str:
    """`-s3`: one of the directories the API accepts."""
    return _refused_as_is(targets.check_s3_directory, text)


def channel(text: str) -> int:
    """`-c`: an info-image channel, 1 to 3."""
    try:
        value = int(text)
    except ValueError:
        raise ValueRefused(f"info channel {text!r} is not allowed: use 1, 2 or 3") from None
    return _refused_as_is(targets.check_channel, value)


def api(text: str) -> str:
    """`--api`: `local`, a stage name or a URL -> `targets.LOCAL` or the API base URL."""
    return _refused_as_is(targets.resolve_api, text)


def _refused_as_is(rule: Callable[[V], T], value: V) -> T:
    try:
        return rule(value)
    except UsageError as exc:
        raise ValueRefused(str(exc)) from None


def database(text: str) -> str:
    """`serve --db`: a PostgreSQL URL, parsed as the site will parse it (SQLAlchemy's make_url,
    imported only when the option is given)."""
    from send_test_images.localsite.db import database_url

    try:
        database_url(text, Path("."))
    except SendTestImagesError as exc:
        raise ValueRefused(str(exc)) from None
    return text


def s3_endpoint(text: str) -> str:
    """`serve --s3-endpoint`: http(s)://HOST[:PORT] of an S3 the site does not start."""
    from send_test_images.localsite.s3endpoint import endpoint_url_problem

    problem = endpoint_url_problem(text)
    if problem is not None:
        raise ValueRefused(problem)
    return text


def bucket(text: str) -> str:
    """`serve --s3-bucket`: a name S3 accepts (3-63 lowercase letters, digits, dots, hyphens)."""
    if not BUCKET_NAME.fullmatch(text) or ".." in text:
        raise ValueRefused(
            f"bucket {text!r} is not allowed: use 3 to 63 lowercase letters, digits, dots and hyphens, "
            "starting and ending with a letter or digit"
        )
    return text
