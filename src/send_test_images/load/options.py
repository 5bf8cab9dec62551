"""The load options, typed and checked once.

Locust owns the command line of a load test (`-u`, `-r`, `-t`, `--master`, `--worker`, `--html`,
...); ours are Locust custom arguments (`locustfile.py` declares them from `ARGUMENTS` below), so
they show in `locust -h`, in the web UI's start form, in config files and `LOCUST_*` variables,
and the master hands them to every worker. The web UI hands values back as text, so every value
here is read from text or its own type, and checked once, into one `LoadOptions`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from send_test_images import defaults
from send_test_images.errors import UsageError
from send_test_images.exposure.fitsfiles import check_fits_format
from send_test_images.exposure.naming import normalize_data_type
from send_test_images.exposure.options import MAX_EXPTIME, MAX_SEED
from send_test_images.exposure.profiles import CAMERAS, CameraProfile, get_camera
from send_test_images.exposure.spec import check_files
from send_test_images.exposure.synth import FrameSpec
from send_test_images.load.names import check_run_tag
from send_test_images.load.pool import DEFAULT_POOL_SIZE, MAX_POOL_SIZE
from send_test_images.sending.options import MAX_TIMEOUT
from send_test_images.sending.targets import LOCAL, resolve_api

CADENCE_FROM_CAMERA = "camera"
RANDOM = "random"
DEFAULT_STOP_TIMEOUT = 60
"""Seconds Locust gives a user to finish the exposure it is sending when the test stops (Locust's
own default, 0, kills users mid-file: those files are then reported, not sent)."""

MAX_CADENCE = MAX_EXPTIME


@dataclass(frozen=True)
class Argument:
    """One custom argument: its flag, default (as text where the web UI could blank it) and help."""

    flag: str
    default: Any
    help: str
    action: str | None = None


ARGUMENTS = (
    Argument("--camera", defaults.CAMERA, f"camera profile of every simulated camera: {', '.join(CAMERAS)}"),
    Argument("--files", defaults.FILES, "files per exposure, letters of hjtfF as for `up`"),
    Argument("--exptime", str(defaults.EXPTIME), "exposure time in seconds, written to the headers"),
    Argument("--cadence", CADENCE_FROM_CAMERA,
             "seconds from one exposure's start to the next per camera; 'camera' = exposure time + the "
             "camera's readout + overheads, each drawn +-10%; 0 = back to back"),
    Argument("--fits-format", defaults.FITS_FORMAT, "fz (.fits.fz) or bz2 (.fits.bz2, ~10x the CPU)"),
    Argument("--pool-size", str(DEFAULT_POOL_SIZE),
             f"distinct frames drawn per worker and camera at start, 1-{MAX_POOL_SIZE}; then only names and "
             "headers are stamped per exposure"),
    Argument("--fresh-frames", False, "draw every exposure's pixels afresh (a core per exposure: for small loads)",
             action="store_true"),
    Argument("--seed", RANDOM, "seed of the frame pool (same seed, same pixels) or 'random'"),
    Argument("--run-tag", RANDOM,
             "3 letters or digits that start every site code of this test, or 'random' (chosen by the master)"),
    Argument("--data-type", defaults.DATA_TYPE, "data type letters in the file names, uppercased (e -> E)"),
    Argument("--upload-timeout", str(defaults.TIMEOUT), "seconds before a silent connection counts as failed"),
    Argument("--upload-retries", str(defaults.RETRIES), "extra tries for a failure that may pass (as `up`)"),
    Argument("--ledger", "", "write the final ledger (reserved, sent, reported per file) as JSON to this file"),
)


@dataclass(frozen=True)
class LoadOptions:
    camera: CameraProfile
    frame: FrameSpec
    files: str
    fits_format: str
    data_type: str
    cadence: float | None
    """Seconds between exposure starts, or None: drawn from the camera."""
    pool_size: int
    fresh_frames: bool
    seed: int | None
    run_tag: str | None
    timeout: float
    retries: int
    ledger: Path | None

    @classmethod
    def from_namespace(cls, parsed: argparse.Namespace) -> LoadOptions:
        """Every value checked; the first bad one raises UsageError naming it and what is allowed."""
        get = vars(parsed).get
        camera_name = str(get("camera", defaults.CAMERA))
        if camera_name not in CAMERAS:
            raise UsageError(f"camera {camera_name!r} is not allowed: use one of {', '.join(CAMERAS)}")
        camera = get_camera(camera_name)
        exptime = _number("exposure time", get("exptime", defaults.EXPTIME), 0.0, MAX_EXPTIME)
        frame = FrameSpec(exptime=exptime)
        cadence_text = str(get("cadence", CADENCE_FROM_CAMERA)).strip()
        cadence = None if cadence_text in (CADENCE_FROM_CAMERA, "") else _number(
            "cadence", cadence_text, 0.0, MAX_CADENCE)
        seed_text = str(get("seed", RANDOM)).strip()
        tag_text = str(get("run_tag", RANDOM)).strip()
        ledger = str(get("ledger", "") or "").strip()
        return cls(
            camera=camera,
            frame=frame,
            files=check_files(str(get("files", defaults.FILES))),
            fits_format=check_fits_format(str(get("fits_format", defaults.FITS_FORMAT))),
            data_type=normalize_data_type(str(get("data_type", defaults.DATA_TYPE))),
            cadence=cadence,
            pool_size=int(_number("pool size", get("pool_size", DEFAULT_POOL_SIZE), 1, MAX_POOL_SIZE, whole=True)),
            fresh_frames=bool(get("fresh_frames", False)),
            seed=None if seed_text in (RANDOM, "") else int(_number("seed", seed_text, 0, MAX_SEED, whole=True)),
            run_tag=None if tag_text in (RANDOM, "") else check_run_tag(tag_text),
            timeout=_number("upload timeout", get("upload_timeout", defaults.TIMEOUT), 0.001, MAX_TIMEOUT),
            retries=int(_number("upload retries", get("upload_retries", defaults.RETRIES), 0, 100, whole=True)),
            ledger=Path(ledger) if ledger else None,
        )


def _number(what: str, value: object, lowest: float, highest: float, *, whole: bool = False) -> float:
    """`value` (a number, or its text) within [lowest, highest], else one UsageError line."""
    try:
        number = int(str(value)) if whole else float(str(value))
    except ValueError:
        number = None
    if number is None or not lowest <= number <= highest or number != number:
        kind = "a whole number" if whole else "a number"
        raise UsageError(f"{what} {value!r} is not allowed: use {kind} from {lowest:g} to {highest:g}")
    return number


def resolve_host(host: str | None) -> str:
    """Locust's --host as an API base URL: a URL, or test, dev, prod; never the embedded site."""
    if not host:
        raise UsageError("no API to load: give --host URL (e.g. the URL `send-test-images serve` prints)")
    api = resolve_api(host)
    if api == LOCAL:
        raise UsageError("--host local is not allowed for a load test: start `send-test-images serve` "
                         "and pass the API URL it prints")
    return api
