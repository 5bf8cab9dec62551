"""Default pointings whose frames a plate solver can solve: enough catalogue stars in the field.

Measured with Debian's astrometry.net and its Tycho-2 indexes (issue 16): a 50' frame with 7 or
more G < 10 stars solved every time, one with 4-6 never; the median random 50' field holds 7.
So a light frame with catalogue stars points only at targets (targets.py) whose frame, for this
camera, holds at least MIN_SOLVE_STARS of them, counted inside the frame shrunk by the mount's
scatter (observation.DEFAULT_POINTING_SCATTER) so the scatter cannot push one out. A camera too
small for any target to reach that (a 13' frame holds ~1 such star) gets the FEWEST_TARGETS
richest fields. Which targets qualify is worked out once per process and frame geometry (~60
field counts, a few tens of ms).

When none of them is up, the frame points at one of the sky's rich fields for this geometry
(`rich_fields`: the catalogue binned into cells of the frame's size, those holding enough
stars), and only when none of those is up either at blank-sky draws kept where the field holds
enough stars. The six richest targets of a 25' frame (sq768) are all down for hours of every
night, and 64 blank draws for one that solves, of which almost none did, cost ~18 ms an
exposure, more than drawing its pixels; a rich field costs one pick and one count.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass

import numpy as np

from send_test_images.exposure.observation import (
    DEFAULT_POINTING_SCATTER,
    Observation,
    SkyFields,
    make_observation,
)
from send_test_images.exposure.profiles import CameraProfile, SiteProfile
from send_test_images.exposure.sky import catalogue
from send_test_images.exposure.sky.field import count_in_frame
from send_test_images.exposure.synth.spec import FrameSpec
from send_test_images.exposure.targets import TARGETS

MIN_SOLVE_STARS = 8
"""Catalogue stars a frame needs to plate-solve reliably (7 always did, 6 never: one spare)."""
FEWEST_TARGETS = 6
"""A camera whose fields mostly hold too few stars still points at its richest few targets."""
ARCSEC_PER_DEGREE = 3600.0
POLAR_CAP_CELLS = 1
"""Dec bands at each pole left out of `rich_fields`: a band that rings the pole is no field."""
MAX_COUNTED_CELLS = 4_000_000
"""Up to this many sky cells, `rich_fields` keeps a count for each (32 MB at most); beyond, it
counts only the cells that hold a star. A frame's cells are its field less the pointing
scatter, which for a frame a few arcminutes across is a pixel: 10^12 cells over the sky."""


@dataclass(frozen=True)
class FieldRule:
    """How many catalogue stars a frame of this geometry holds, and whether that solves."""

    width: int
    height: int
    scale: float  # arcsec per pixel

    def count(self, ra: float, dec: float) -> int:
        return count_in_frame(self.width, self.height, self.scale, ra, dec)

    def accepts(self, ra: float, dec: float) -> bool:
        return self.count(ra, dec) >= MIN_SOLVE_STARS

    @property
    def size_text(self) -> str:
        """`50.5' x 50.5'`: the field, for messages."""
        return f"{self.width * self.scale / 60:.1f}' x {self.height * self.scale / 60:.1f}'"


def field_rule(camera: CameraProfile) -> FieldRule:
    return FieldRule(camera.width, camera.height, float(camera.pixel_scale))


def uses_catalogue(frame: FrameSpec) -> bool:
    """Only a light frame of stars on the sky takes catalogue stars (and solvable pointings)."""
    return frame.kind == "light" and frame.image == "sky" and frame.stars == "catalogue"


@functools.cache
def solvable_targets(rule: FieldRule) -> tuple[int, ...]:
    """Indices into targets.TARGETS whose frames hold MIN_SOLVE_STARS catalogue stars (else the
    FEWEST_TARGETS richest), counted within the frame less the pointing scatter on each side."""
    inner = inner_rule(rule)
    counts = [inner.count(ra, dec) for _, ra, dec in TARGETS]
    good = [index for index, count in enumerate(counts) if count >= MIN_SOLVE_STARS]
    if len(good) >= FEWEST_TARGETS:
        return tuple(good)
    richest = sorted(range(len(TARGETS)), key=lambda index: -counts[index])[:FEWEST_TARGETS]
    return tuple(sorted(richest))


def inner_rule(rule: FieldRule) -> FieldRule:
    """The frame less the pointing scatter on each side: stars in it stay in the frame wherever
    the mount lands."""
    margin = 2 * DEFAULT_POINTING_SCATTER * ARCSEC_PER_DEGREE / rule.scale
    return FieldRule(max(1, round(rule.width - margin)), max(1, round(rule.height - margin)), rule.scale)


@functools.cache
def rich_fields(rule: FieldRule) -> SkyFields:
    """Centres of the sky cells, each the size of the frame less the scatter, that hold
    MIN_SOLVE_STARS catalogue stars: fields that solve wherever the mount lands in them.

    Cells are Dec bands the inner frame's height, each cut into RA steps of its width at the
    band's centre (equal areas, to a fraction of a percent over a band). One pass over the
    catalogue, ~20 ms once per process and geometry, and only when no target is up.
    """
    inner = inner_rule(rule)
    width = inner.width * inner.scale / ARCSEC_PER_DEGREE
    height = inner.height * inner.scale / ARCSEC_PER_DEGREE
    bands = max(1, math.floor(180.0 / height))
    band_height = 180.0 / bands
    centres = -90.0 + band_height * (np.arange(bands) + 0.5)
    steps = np.maximum(1, np.floor(360.0 * np.cos(np.radians(centres)) / width)).astype(np.int64)
    first = np.concatenate(([0], np.cumsum(steps)[:-1]))
    stars = catalogue.load().stars
    band = np.minimum(((stars.dec + 90.0) / band_height).astype(np.int64), bands - 1)
    step = np.minimum((stars.ra / 360.0 * steps[band]).astype(np.int64), steps[band] - 1)
    cell, cells = first[band] + step, int(steps.sum())
    if cells <= MAX_COUNTED_CELLS:  # a count for every cell: one pass, no sort
        rich = np.flatnonzero(np.bincount(cell, minlength=cells) >= MIN_SOLVE_STARS)
    else:  # cells far smaller than a field that solves (a frame not much larger than the scatter)
        occupied, counts = np.unique(cell, return_counts=True)
        rich = occupied[counts >= MIN_SOLVE_STARS]
    rich_band = np.searchsorted(first, rich, side="right") - 1
    off_cap = (rich_band >= POLAR_CAP_CELLS) & (rich_band < bands - POLAR_CAP_CELLS)
    rich, rich_band = rich[off_cap], rich_band[off_cap]
    ra = (rich - first[rich_band] + 0.5) * 360.0 / steps[rich_band]
    return SkyFields(ra=ra, dec=centres[rich_band])


def make_pointing(
    date_obs: dt.datetime, site: SiteProfile, seed: int, camera: CameraProfile, frame: FrameSpec,
    *, ra: float | None = None, dec: float | None = None,
) -> Observation:
    """make_observation, pointing a catalogue-star light frame where it will plate-solve."""
    if not uses_catalogue(frame) or ra is not None:
        return make_observation(date_obs, site, seed, ra=ra, dec=dec)
    rule = field_rule(camera)
    return make_observation(
        date_obs, site, seed, targets=solvable_targets(rule), accept=rule.accepts,
        fields=functools.partial(rich_fields, rule),
    )


def unsolvable_warning(camera: CameraProfile, ra: float, dec: float, name: str) -> str | None:
    """What to tell a user whose `--target` frame holds too few catalogue stars to solve."""
    rule = field_rule(camera)
    count = rule.count(ra, dec)
    if count >= MIN_SOLVE_STARS:
        return None
    return (f"target {name} holds {count} catalogue star(s) in a {rule.size_text} {camera.name} frame; a plate "
            f"solver needs about {MIN_SOLVE_STARS}, so its frames will likely not solve")
