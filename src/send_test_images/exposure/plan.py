"""A run's exposures, planned before anything is drawn or sent (pure).

Planning first means every bad value is found before the first file number is reserved or the
first byte is sent, and that the same options, numbers and seed always plan the same specs.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, replace

import numpy as np

from send_test_images.errors import UsageError
from send_test_images.exposure.naming import check_inst, check_site, normalize_data_type
from send_test_images.exposure.observation import make_observation, to_utc
from send_test_images.exposure.profiles import DEFAULT_CAMERA, get_camera, get_site
from send_test_images.exposure.spec import ExposureSpec, check_files
from send_test_images.exposure.synth import FrameSpec

S3_DIRECTORIES = ("data", "info-images", "allsky", "test")
INFO_CHANNELS = (1, 2, 3)
DEFAULT_OVERHEAD = 5.0
"""Seconds between the end of one exposure and the start of the next (readout, guiding)."""


@dataclass(frozen=True)
class BatchOptions:
    """What the user asked for, as plain values (the CLI's flags, minus where to send)."""

    site: str = "tst"
    inst: str = "inst"
    data_type: str = "e"
    files: str = "hjtfF"
    repeat: int = 1
    smartstack: int = 1
    seed: int | None = None
    camera: str | None = None
    image: str = "sky"
    frame: str = "light"
    exptime: float | None = None
    filter: str | None = None
    time: dt.datetime | None = None
    fits_format: str = "fz"
    truth: bool = False
    user: str = "send-test-images"
    seeing: float | None = None
    cosmic_rays: bool = False
    satellite: bool = False
    location: str | None = None  # "LAT,LON[,ELEV]" overriding the site profile's place
    size: str | None = None  # "WIDTHxHEIGHT" overriding the camera profile's sensor
    pixel_scale: float | None = None  # arcsec/pixel overriding the camera profile's

    @property
    def count(self) -> int:
        """How many file numbers the run needs: every smartstack sub-frame has its own."""
        return self.repeat * self.smartstack


def check_destination(s3_directory: str, channel: int) -> None:
    """The real API answers 403 for these; refusing first means nothing is half-sent."""
    if s3_directory not in S3_DIRECTORIES:
        raise UsageError(f"s3 directory {s3_directory!r} is not allowed: use one of {', '.join(S3_DIRECTORIES)}")
    if channel not in INFO_CHANNELS:
        raise UsageError(f"info channel {channel!r} is not allowed: use 1, 2 or 3")


def parse_time(text: str | None) -> dt.datetime | None:
    """`--time`: ISO 8601; without a zone it is UTC, as DATE-OBS is."""
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"time {text!r} is not allowed: use ISO 8601 UTC, e.g. 2026-11-24T05:30:00") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def parse_location(text: str | None) -> dict[str, float]:
    """`--location LAT,LON[,ELEV]` (degrees north, degrees east, metres) as profile overrides."""
    if text is None:
        return {}
    message = (
        f"location {text!r} is not allowed: use LAT,LON[,ELEV] in degrees (north, east) and metres, "
        "e.g. 34.43,-119.86,10"
    )
    try:
        parts = [float(part) for part in text.split(",")]
    except ValueError:
        raise UsageError(message) from None
    if len(parts) not in (2, 3) or not -90 <= parts[0] <= 90 or not -180 <= parts[1] <= 360:
        raise UsageError(message)
    if len(parts) == 3 and not -500 <= parts[2] <= 9000:
        raise UsageError(message)
    return dict(zip(("latitude", "longitude", "elevation"), parts, strict=False))


MIN_SENSOR_SIDE = 64
MAX_SENSOR_SIDE = 16384


def parse_size(text: str | None) -> dict[str, int]:
    """`--size WxH` as camera overrides; a frame smaller than a few PSFs or larger than RAM is refused."""
    if text is None:
        return {}
    message = (
        f"size {text!r} is not allowed: use WIDTHxHEIGHT in pixels, each {MIN_SENSOR_SIDE} to "
        f"{MAX_SENSOR_SIDE}, e.g. 2048x1536"
    )
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise UsageError(message) from None
    if not (MIN_SENSOR_SIDE <= width <= MAX_SENSOR_SIDE and MIN_SENSOR_SIDE <= height <= MAX_SENSOR_SIDE):
        raise UsageError(message)
    return {"width": width, "height": height}


def camera_overrides(options: BatchOptions) -> dict[str, object]:
    overrides: dict[str, object] = dict(parse_size(options.size))
    if options.pixel_scale is not None:
        if not 0.01 <= options.pixel_scale <= 100:
            raise UsageError(
                f"pixel scale {options.pixel_scale!r} is not allowed: use 0.01 to 100 arcsec per pixel"
            )
        overrides["pixel_scale"] = options.pixel_scale
    return overrides


def new_seed() -> int:
    return secrets.randbits(32)


def exposure_seed(batch_seed: int, index: int) -> int:
    """Independent, reproducible seeds per exposure from one batch seed."""
    return int(np.random.SeedSequence([batch_seed, index]).generate_state(1)[0])


def plan(
    options: BatchOptions, numbers: range, *, seed: int, now: dt.datetime | None = None
) -> list[ExposureSpec]:
    """One ExposureSpec per file number, in sending order.

    Without `--time`, the run ends now (DATE-OBS in the past, like real captures, so a later
    run sorts after this one); with it, the first exposure starts then. A smartstack's frames
    share one pointing, exposure time and filter, and carry SMARTSTK/SSTKNUM/SSTKLEN.
    """
    if len(numbers) != options.count:
        raise ValueError(f"plan needs {options.count} numbers, got {len(numbers)}")
    template = template_spec(options, numbers.start if numbers else 1, seed=seed)
    cadence = dt.timedelta(seconds=template.frame.exptime + DEFAULT_OVERHEAD)
    if options.time is not None:
        start = to_utc(options.time)
    else:
        start = to_utc(now or dt.datetime.now(dt.UTC)) - cadence * (options.count - 1)
    specs: list[ExposureSpec] = []
    for index, number in enumerate(numbers):
        stack_index = index % options.smartstack
        date_obs = start + cadence * index
        spec = replace(template, number=number, date_obs=date_obs, seed=exposure_seed(seed, index))
        if options.smartstack > 1:
            if stack_index == 0:
                stack_id = f"stk{number:08d}"
                stack_seed = spec.seed
                pointing = make_observation(date_obs, spec.site_profile, stack_seed)
            spec = replace(
                spec,
                smartstack=(stack_id, stack_index, options.smartstack),
                ra=pointing.ra,
                dec=pointing.dec,
                frame=replace(spec.frame, field_seed=stack_seed),
            )
        specs.append(spec)
    return specs


def template_spec(options: BatchOptions, number: int, *, seed: int) -> ExposureSpec:
    """The spec every exposure of the run starts from; building it validates every option."""
    check_site(options.site)
    check_inst(options.inst)
    check_files(options.files)
    camera = get_camera(options.camera or DEFAULT_CAMERA, **camera_overrides(options))
    frame_kwargs: dict[str, object] = {
        "kind": options.frame,
        "image": options.image,
        "cosmic_rays": options.cosmic_rays,
        "satellite": options.satellite,
    }
    if options.seeing is not None:
        frame_kwargs["seeing_fwhm"] = options.seeing
    if options.exptime is not None:
        frame_kwargs["exptime"] = options.exptime
    if options.filter is not None:
        frame_kwargs["filter"] = options.filter
    return ExposureSpec(
        site=options.site,
        inst=options.inst,
        number=number,
        data_type=normalize_data_type(options.data_type),
        files=options.files,
        date_obs=options.time or dt.datetime.now(dt.UTC),
        camera=camera,
        site_profile=get_site(options.site, **parse_location(options.location)),
        frame=FrameSpec(**frame_kwargs),  # type: ignore[arg-type]
        seed=exposure_seed(seed, 0),
        user_name=options.user,
        user_id=options.user,
        fits_format=options.fits_format,
        truth=options.truth,
    )
