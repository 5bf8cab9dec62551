"""One simulated site camera: its names, its file numbers, its cadence, its next exposure.

A real camera takes an exposure, reads it out, downloads and solves it, then starts the next:
its cadence is the exposure time plus a readout that grows with the sensor plus a few seconds of
overhead, never quite the same twice. `cadence` draws it so (each exposure ±10%, from the camera's
own seeded generator, so many cameras started together drift apart as real ones do), unless the
test fixes it (`--cadence`).

File numbers follow the service's rule (protocol §2): a per-camera counter, one number per
exposure, never reused. A camera starts after the highest number the site already knows for it
(`start_after`), so a repeated run tag continues rather than overwrites.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from send_test_images.errors import UsageError
from send_test_images.exposure.naming import MAX_FILE_NUMBER
from send_test_images.exposure.options import MAX_SEED
from send_test_images.load.names import CameraName
from send_test_images.load.options import LoadOptions
from send_test_images.load.pool import FramePool, LoadFile, PoolKey, make_fresh

READOUT_PIXELS_PER_SECOND = 8_000_000
"""A CMOS camera over USB 3: ~2 s for a 16.7-megapixel frame."""
OVERHEAD_SECONDS = 3.0
"""Downloading, saving, plate-solving and guiding settle between two exposures at a real site."""
CADENCE_JITTER = 0.1


def camera_cadence(options: LoadOptions) -> float:
    """Seconds from one exposure's start to the next for this camera profile, before jitter."""
    camera = options.camera
    return options.frame.exptime + camera.width * camera.height / READOUT_PIXELS_PER_SECOND + OVERHEAD_SECONDS


@dataclass(frozen=True)
class PlannedExposure:
    """One reserved exposure: its number and its files, in upload order."""

    number: int
    date_obs: dt.datetime
    files: list[LoadFile]

    @property
    def bytes(self) -> int:
        return sum(len(f.data) for f in self.files)


@dataclass
class SimulatedCamera:
    """One Locust user's camera. `pool` is None with `--fresh-frames`."""

    name: CameraName
    options: LoadOptions
    pool_key: PoolKey
    pool: FramePool | None
    seed: int
    next_number: int = 1
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def start_after(self, highest: int | None) -> None:
        """Continue after the highest number the site knows for this camera (None: start at 1)."""
        if highest is not None:
            self.next_number = max(self.next_number, highest + 1)

    def cadence(self) -> float:
        """Seconds until this camera's next exposure starts (counted from this one's start)."""
        if self.options.cadence is not None:
            return self.options.cadence
        base = camera_cadence(self.options)
        return base * self._rng.uniform(1 - CADENCE_JITTER, 1 + CADENCE_JITTER)

    def reserve(self) -> int:
        """The next file number, taken for good: a number is never sent twice, even when it fails."""
        number = self.next_number
        if number > MAX_FILE_NUMBER:
            raise UsageError(f"camera {self.name.site}-{self.name.inst} has used every file number up to "
                             f"{MAX_FILE_NUMBER}: start a new run tag")
        self.next_number += 1
        return number

    def expose(self, number: int) -> PlannedExposure:
        """The files of exposure `number`, taken now: stamped from the pool, or drawn afresh."""
        when = self.clock()
        pointing_seed = self._rng.randrange(MAX_SEED + 1)
        site, inst = self.name.site, self.name.inst
        if self.pool is None:
            files = make_fresh(self.pool_key, site, inst, number, when, pointing_seed)
        else:
            files = self.pool.make(site, inst, number, when, pointing_seed)
        return PlannedExposure(number, when, files)


def user_seed(seed: int | None, site: str, inst: str) -> int:
    """Each camera's own generator (cadence jitter, pointings): fixed by the pool seed and its name."""
    digest = hashlib.sha256(f"{seed}:{site}:{inst}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (MAX_SEED + 1)
