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
from collections.abc import Callable
from typing import TypeVar

from send_test_images.errors import SendTestImagesError, UsageError
from send_test_images.exitcodes import ExitCode
from send_test_images.exposure.options import Location, SensorSize, parse_time
from send_test_images.sending import targets

T = TypeVar("T")
V = TypeVar("V")


class ValueRefused(SendTestImagesError):
    """A command-line value broke its rule; the message is the rule's own one line (exit 2).

    Deliberately not a ValueError: argparse would swallow that into "invalid value".
    """

    exit_code = ExitCode.USAGE


def whole_number(what: str, *, minimum: int = 1) -> Callable[[str], int]:
    """A whole number >= `minimum` (`--repeat`, `--concurrency`, `--retries`, `--port`, ...)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"{what} {text!r} is not allowed: use a whole number >= {minimum}")
        return value

    return parse


def above_zero(what: str, unit: str) -> Callable[[str], float]:
    """A finite number above 0 (`--rate`, `--duration`, `--timeout`)."""

    def parse(text: str) -> float:
        value = _finite(text)
        if value is None or not value > 0:
            raise argparse.ArgumentTypeError(f"{what} {text!r} is not allowed: use a number of {unit} above 0")
        return value

    return parse


def at_least_zero(what: str, unit: str = "seconds") -> Callable[[str], float]:
    """A finite number >= 0 (`--exptime`, `--seeing`, `--pixel-scale`; their ranges are the spec's)."""

    def parse(text: str) -> float:
        value = _finite(text)
        if value is None or not value >= 0:
            raise argparse.ArgumentTypeError(f"{what} {text!r} is not allowed: use a number of {unit} >= 0")
        return value

    return parse


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
