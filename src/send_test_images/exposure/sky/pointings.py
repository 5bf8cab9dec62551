"""Default pointings whose frames a plate solver can solve: enough catalogue stars in the field.

Measured with Debian's astrometry.net and its Tycho-2 indexes (issue 16): a 50' frame with 7 or
more G < 10 stars solved every time, one with 4-6 never; the median random 50' field holds 7.
So a light frame with catalogue stars points only at targets (targets.py) whose frame, for this
camera, holds at least MIN_SOLVE_STARS of them, counted inside the frame shrunk by the mount's
scatter (observation.DEFAULT_POINTING_SCATTER) so the scatter cannot push one out. A camera too
small for any target to reach that (a 13' frame holds ~1 such star) gets the FEWEST_TARGETS
richest fields. When none of them is up, blank-sky draws are kept only where the field holds
enough stars. Which targets qualify is worked out once per process and frame geometry (~60
field counts, a few tens of ms).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from send_test_images.exposure.observation import DEFAULT_POINTING_SCATTER, Observation, make_observation
from send_test_images.exposure.profiles import CameraProfile, SiteProfile
from send_test_images.exposure.sky.field import count_in_frame
from send_test_images.exposure.synth.spec import FrameSpec
from send_test_images.exposure.targets import TARGETS

MIN_SOLVE_STARS = 8
"""Catalogue stars a frame needs to plate-solve reliably (7 always did, 6 never: one spare)."""
FEWEST_TARGETS = 6
"""A camera whose fields mostly hold too few stars still points at its richest few targets."""
ARCSEC_PER_DEGREE = 3600.0


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
    margin = 2 * DEFAULT_POINTING_SCATTER * ARCSEC_PER_DEGREE / rule.scale
    inner = FieldRule(max(1, round(rule.width - margin)), max(1, round(rule.height - margin)), rule.scale)
    counts = [inner.count(ra, dec) for _, ra, dec in TARGETS]
    good = [index for index, count in enumerate(counts) if count >= MIN_SOLVE_STARS]
    if len(good) >= FEWEST_TARGETS:
        return tuple(good)
    richest = sorted(range(len(TARGETS)), key=lambda index: -counts[index])[:FEWEST_TARGETS]
    return tuple(sorted(richest))


def make_pointing(
    date_obs: dt.datetime, site: SiteProfile, seed: int, camera: CameraProfile, frame: FrameSpec,
    *, ra: float | None = None, dec: float | None = None,
) -> Observation:
    """make_observation, pointing a catalogue-star light frame where it will plate-solve."""
    if not uses_catalogue(frame) or ra is not None:
        return make_observation(date_obs, site, seed, ra=ra, dec=dec)
    rule = field_rule(camera)
    return make_observation(date_obs, site, seed, targets=solvable_targets(rule), accept=rule.accepts)


def unsolvable_warning(camera: CameraProfile, ra: float, dec: float, name: str) -> str | None:
    """What to tell a user whose `--target` frame holds too few catalogue stars to solve."""
    rule = field_rule(camera)
    count = rule.count(ra, dec)
    if count >= MIN_SOLVE_STARS:
        return None
    return (f"target {name} holds {count} catalogue star(s) in a {rule.size_text} {camera.name} frame; a plate "
            f"solver needs about {MIN_SOLVE_STARS}, so its frames will likely not solve")
