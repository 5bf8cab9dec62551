"""A run's exposures, planned before anything is drawn or sent (pure).

Planning first means every bad value is found before the first file number is reserved or the
first byte is sent, and that the same options, numbers and seed always plan the same specs.
What the user asked for is `exposure.options.BatchOptions`; turning command-line text into it is
cli/argtypes.py's job, and where files may go is sending/targets.py's.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import replace

import numpy as np

from send_test_images.errors import UsageError
from send_test_images.exposure.naming import check_inst, check_site, normalize_data_type
from send_test_images.exposure.observation import Observation, radec_to_altaz, to_utc
from send_test_images.exposure.options import (
    DATES,
    FIRST_DATE,
    LAST_DATE,
    MAX_PIXEL_SCALE,
    MIN_PIXEL_SCALE,
    BatchOptions,
)
from send_test_images.exposure.presets import clock_stack_id, get_preset
from send_test_images.exposure.profiles import get_camera, get_site
from send_test_images.exposure.sky.pointings import make_pointing
from send_test_images.exposure.spec import ExposureSpec, check_files
from send_test_images.exposure.synth import FrameSpec

DEFAULT_OVERHEAD = 5.0
"""Seconds between the end of one exposure and the start of the next (readout, guiding)."""



def camera_overrides(options: BatchOptions) -> dict[str, object]:
    """The camera-profile fields `--size` and `--pixel-scale` replace; a scale out of range is refused."""
    overrides: dict[str, object] = dict(options.size.overrides()) if options.size else {}
    if options.pixel_scale is not None:
        if not MIN_PIXEL_SCALE <= options.pixel_scale <= MAX_PIXEL_SCALE:
            raise UsageError(
                f"pixel scale {options.pixel_scale!r} is not allowed: "
                f"use {MIN_PIXEL_SCALE:g} to {MAX_PIXEL_SCALE:g} arcsec per pixel"
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
    """Every spec of a block at once (`make`, tests); a run uses `PlannedBlock` and takes them lazily."""
    return list(PlannedBlock(options, numbers, seed=seed, now=now))


class PlannedBlock:
    """One ExposureSpec per file number, in sending order, made one at a time as asked for.

    A run may be 200 million exposures long; its numbers are reserved a block at once, but its
    specs are made only as the pipeline asks for them, so memory does not grow with `-r`
    (tests/faults/test_fault_lazy_planning.py). Building the block checks every option (through
    `template_spec`) and the clock of the whole run (`check_run_dates`).

    Without `--time`, the run ends now (DATE-OBS in the past, like real captures); with it, the
    first exposure starts then. `up` gives a block a time of its own (`run_start`) when ending now
    would overlap the site's newest exposure, so runs in a row never interleave. A smartstack's frames share
    one pointing, exposure time and filter, and carry SMARTSTK/SSTKNUM/SSTKLEN; its id is `stk` +
    the first frame's number, or under a preset with clock ids (`--like ptr-observatory`) the
    first frame's DATE-OBS as `%d%m%y%H%M%S`, digits as a real site's.
    """

    def __init__(
        self, options: BatchOptions, numbers: range, *, seed: int, now: dt.datetime | None = None
    ) -> None:
        if len(numbers) != options.count:
            raise ValueError(f"plan needs {options.count} numbers, got {len(numbers)}")
        self.options = options
        self.numbers = numbers
        self.seed = seed
        self.template = template_spec(options, numbers.start if numbers else 1, seed=seed)
        self.cadence = dt.timedelta(seconds=self.template.frame.exptime + DEFAULT_OVERHEAD)
        if options.time is not None:
            self.start = to_utc(options.time)
        else:
            self.start = to_utc(now or dt.datetime.now(dt.UTC)) - self.cadence * (options.count - 1)
        check_run_dates(self.start, self.cadence, options.count)
        self._stack: tuple[int, Observation] | None = None

    def __len__(self) -> int:
        return len(self.numbers)

    def __iter__(self) -> Iterator[ExposureSpec]:
        for index in range(len(self.numbers)):
            yield self.spec(index)

    def spec(self, index: int) -> ExposureSpec:
        """The spec of the exposure at `index` (0-based)."""
        number = self.numbers[index]
        date_obs = self.start + self.cadence * index
        spec = replace(self.template, number=number, date_obs=date_obs, seed=exposure_seed(self.seed, index))
        size = self.options.smartstack
        if size > 1:
            first = index - index % size
            stack_seed = exposure_seed(self.seed, first)
            began = self.start + self.cadence * first
            if self._stack is None or self._stack[0] != first:
                self._stack = (first, make_pointing(began, spec.site_profile, stack_seed, spec.camera, spec.frame,
                                                    ra=spec.ra, dec=spec.dec))
            pointing = self._stack[1]
            spec = replace(
                spec,
                smartstack=(smartstack_id(self.template, self.numbers[first], began), index % size, size),
                ra=pointing.ra,
                dec=pointing.dec,
                frame=replace(spec.frame, field_seed=stack_seed),
            )
        return spec

    def check(self) -> None:
        """Make the first and the last spec: what only a made spec can refuse is refused now."""
        if self.numbers:
            for spec in (self.spec(0), self.spec(len(self.numbers) - 1)):
                self._check_target_is_up(spec)

    def _check_target_is_up(self, spec: ExposureSpec) -> None:
        """`--target` below the horizon would fail while drawing, after numbers were reserved."""
        target = self.options.target
        if target is None:
            return
        altitude, _ = radec_to_altaz(target.ra, target.dec, spec.date_obs, spec.site_profile)
        if altitude <= 0.0:
            raise UsageError(
                f"target {target} is below the horizon at site {spec.site} at {spec.date_obs.isoformat()} "
                f"(altitude {altitude:.1f} deg): use a --time when it is up, or another --target"
            )

    def for_numbers(self, wanted: Iterable[int]) -> Iterator[ExposureSpec]:
        """The specs of the `wanted` numbers of this block (ascending), one at a time."""
        for number in wanted:
            yield self.spec(self.numbers.index(number))


def run_start(count: int, cadence: dt.timedelta, now: dt.datetime, after: dt.datetime | None) -> dt.datetime:
    """The first DATE-OBS of a run without --time (pure): it ends `now`, like a night's sequence
    just taken, unless that would begin before `after` (the end of the newest exposure the site
    holds); then it starts right after it, as the next exposures of that site would, and may end
    in the future. Two runs in a row then never interleave on a page sorted by capture time."""
    ends_now = to_utc(now) - cadence * max(0, count - 1)
    if after is None:
        return ends_now
    return max(ends_now, to_utc(after) + dt.timedelta(seconds=DEFAULT_OVERHEAD))


def smartstack_id(template: ExposureSpec, number: int, start: dt.datetime) -> str:
    """A new smartstack's id: the preset's kind (clock digits), else `stk` + the file number."""
    if template.preset is not None and template.preset.smartstack_ids == "clock":
        return clock_stack_id(start)
    return f"stk{number:08d}"


def check_run_dates(start: dt.datetime, cadence: dt.timedelta, count: int) -> None:
    """Every DATE-OBS of the run, first to last, is one a frame can carry (exposure/options.py)."""
    try:
        end = start + cadence * max(0, count - 1)
    except OverflowError:
        end = None
    if not FIRST_DATE <= start <= LAST_DATE or end is None or end > LAST_DATE:
        raise UsageError(
            f"a run of {count} exposure(s) starting {start.isoformat()} is not allowed: every exposure "
            f"must start {DATES} ({cadence.total_seconds():g} s apart); use an earlier --time or fewer"
        )


def template_spec(options: BatchOptions, number: int, *, seed: int) -> ExposureSpec:
    """The spec every exposure of the run starts from; building it validates every option."""
    check_site(options.site)
    check_inst(options.inst)
    check_files(options.files)
    camera = get_camera(options.camera, **camera_overrides(options))
    frame = FrameSpec(
        kind=options.frame,
        image=options.image,
        exptime=options.exptime,
        filter=options.filter,
        seeing_fwhm=options.seeing,
        cosmic_rays=options.cosmic_rays,
        satellite=options.satellite,
        stars=options.stars,
    )
    target = options.target
    return ExposureSpec(
        site=options.site,
        inst=options.inst,
        number=number,
        data_type=normalize_data_type(options.data_type),
        files=options.files,
        date_obs=options.time or dt.datetime.now(dt.UTC),
        camera=camera,
        site_profile=get_site(options.site, **(options.location.overrides() if options.location else {})),
        frame=frame,
        seed=exposure_seed(seed, 0),
        user_name=options.user,
        user_id=options.user,
        fits_format=options.fits_format,
        truth=options.truth,
        preset=get_preset(options.like) if options.like else None,
        ra=target.ra if target else None,
        dec=target.dec if target else None,
    )
