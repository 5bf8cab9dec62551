"""What the user asked a run to generate, as typed values (import-light: no numpy, no astropy).

The command line turns its text into these types once (cli/argtypes.py calls the parsers below),
the journal stores them (sending/records.py) and planning reads them (exposure/plan.py). Keeping
them apart from planning lets `-h` and the parser use them without importing numpy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from send_test_images import defaults
from send_test_images.errors import UsageError
from send_test_images.exposure.presets import get_preset
from send_test_images.exposure.targets import NAMES as TARGET_NAMES
from send_test_images.exposure.targets import find_target

MIN_SENSOR_SIDE = 64
MAX_SENSOR_SIDE = 16384

FIRST_DATE = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LAST_DATE = dt.datetime(2199, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
"""DATE-OBS a frame may carry. DAY-OBS needs a four-digit year, and astropy's time scales and
the site's night are only meaningful for modern dates; outside these the run would fail while
drawing, after numbers were reserved."""
DATES = "from 1900-01-01 to 2199-12-31"

MAX_EXPTIME = 86_400.0
"""Seconds: one day, longer than any single exposure a site takes. Beyond a few years the
cosmic-ray and dark counts no longer fit a machine integer."""
MIN_SEEING = 0.05
"""Arcsec; ten times better than the best ground-based seeing. A star far smaller than a pixel
is a single hot pixel, and a vanishing one divides by zero when its profile is drawn."""
MAX_SEEING = 30.0
"""Arcsec; beyond this nothing looks like a star any more."""
MIN_PIXEL_SCALE = 0.01
MAX_PIXEL_SCALE = 100.0
"""Arcsec per pixel: from a large telescope's to an all-sky camera's."""

MAX_SEED = 2**63 - 1
"""Seeds are written to FITS headers, whose integers are 64-bit signed."""

PIXEL_FILES = "jtfF"
"""The file letters made from pixels: the JPGs and the FITS. `h` alone is the header."""


def draws_pixels(files: str, *, truth: bool) -> bool:
    """Whether an exposure must draw its frame: a pixel file is asked for, or the truth
    catalogue (whose peaks and SNRs are read off the rendered stars). A header sent alone
    is written from the frame's recipe instead (predict.py), at a hundredth of the cost."""
    return truth or any(letter in PIXEL_FILES for letter in files)

MAX_EXPOSURES = 99_999_999
"""File numbers a camera has (8 digits): a run of more can never be named."""

STAR_SOURCES = ("catalogue", "synthetic")
"""`--stars`: catalogue = bright stars of the real sky (Gaia DR3) plus synthetic faint ones;
synthetic = every star drawn at random (the frames of earlier versions)."""


@dataclass(frozen=True)
class Location:
    """A place on Earth overriding a site profile's: degrees north, degrees east, metres."""

    latitude: float
    longitude: float
    elevation: float | None = None

    @classmethod
    def parse(cls, text: str) -> Location:
        """`LAT,LON[,ELEV]`; the message names the value and the form it must take."""
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
        return cls(*parts)

    def overrides(self) -> dict[str, float]:
        """The site-profile fields this location replaces (elevation only when given)."""
        chosen = {"latitude": self.latitude, "longitude": self.longitude}
        if self.elevation is not None:
            chosen["elevation"] = self.elevation
        return chosen

    def __str__(self) -> str:
        """The `LAT,LON[,ELEV]` text `parse` reads back (the journal's FORMAT 1 layout)."""
        parts = [self.latitude, self.longitude] + ([self.elevation] if self.elevation is not None else [])
        return ",".join(repr(p) for p in parts)


@dataclass(frozen=True)
class SensorSize:
    """A sensor's pixels, overriding a camera profile's."""

    width: int
    height: int

    @classmethod
    def parse(cls, text: str) -> SensorSize:
        """`WIDTHxHEIGHT`; a frame smaller than a few PSFs or larger than RAM is refused."""
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
        return cls(width, height)

    def overrides(self) -> dict[str, int]:
        return {"width": self.width, "height": self.height}

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


@dataclass(frozen=True)
class Target:
    """Where `--target` points: a named object of targets.py, or RA,DEC in degrees."""

    ra: float
    dec: float
    name: str | None = None

    @classmethod
    def parse(cls, text: str) -> Target:
        """`NAME` (M31, NGC 253; any case, spaces optional) or `RA,DEC` in degrees."""
        found = find_target(text)
        if found is not None:
            return cls(found[1], found[2], found[0])
        message = (
            f"target {text!r} is not allowed: use RA,DEC in degrees (RA 0 up to 360, Dec -90 to 90), "
            f"e.g. 10.68,41.27, or a name: {', '.join(TARGET_NAMES)}"
        )
        try:
            ra, dec = (float(part) for part in text.split(","))
        except ValueError:
            raise UsageError(message) from None
        if not (0.0 <= ra < 360.0 and -90.0 <= dec <= 90.0):  # NaN fails both
            raise UsageError(message)
        return cls(ra, dec)

    def __str__(self) -> str:
        """The text `parse` reads back: the name, else `RA,DEC`."""
        return self.name if self.name is not None else f"{self.ra!r},{self.dec!r}"


def parse_time(text: str) -> dt.datetime:
    """`--time`: ISO 8601; without a zone it is UTC, as DATE-OBS is."""
    message = f"time {text!r} is not allowed: use ISO 8601 UTC {DATES}, e.g. 2026-11-24T05:30:00"
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        in_range = FIRST_DATE <= value <= LAST_DATE
    except (ValueError, OverflowError):  # OverflowError: a zone pushes year 1 or 9999 out of range
        raise UsageError(message) from None
    if not in_range:
        raise UsageError(message)
    return value


@dataclass(frozen=True)
class BatchOptions:
    """What the user asked to generate (the CLI's flags, minus where and how to send).

    Defaults are the command line's (send_test_images.defaults). `seed=None` means a fresh one
    per run; `time=None` means the run ends now; `location`, `size` and `pixel_scale` left at
    None keep the site's and the camera's own values.
    """

    site: str = defaults.SITE
    inst: str = defaults.INST
    data_type: str = defaults.DATA_TYPE
    files: str = defaults.FILES
    repeat: int = defaults.REPEAT
    smartstack: int = defaults.SMARTSTACK
    seed: int | None = None
    camera: str = defaults.CAMERA
    image: str = defaults.IMAGE
    frame: str = defaults.FRAME
    exptime: float = defaults.EXPTIME
    filter: str = defaults.FILTER
    time: dt.datetime | None = None
    fits_format: str = defaults.FITS_FORMAT
    truth: bool = False
    user: str = defaults.USER
    seeing: float = defaults.SEEING
    cosmic_rays: bool = False
    satellite: bool = False
    location: Location | None = None
    size: SensorSize | None = None
    pixel_scale: float | None = None  # arcsec/pixel overriding the camera profile's
    like: str | None = None  # `--like NAME`: a presets.Preset whose site to imitate
    stars: str = defaults.STARS  # `--stars`: one of STAR_SOURCES
    target: Target | None = None  # `--target`: a fixed pointing instead of a random one per exposure

    def __post_init__(self) -> None:
        if self.like is not None:
            get_preset(self.like)  # refuses an unknown name, naming the known ones
        if self.stars not in STAR_SOURCES:
            raise UsageError(f"stars {self.stars!r} is not allowed: use one of {', '.join(STAR_SOURCES)}")
        if self.target is not None and not isinstance(self.target, Target):
            raise UsageError(f"target {self.target!r} is not allowed: use an options.Target or None")
        if self.count > MAX_EXPOSURES:
            raise UsageError(
                f"repeat {self.repeat} x smartstack {self.smartstack} is not allowed: that is {self.count} "
                f"file numbers and a camera has {MAX_EXPOSURES}; use fewer"
            )

    @property
    def draws_pixels(self) -> bool:
        """Whether this run's exposures need their frames drawn (see `draws_pixels`)."""
        return draws_pixels(self.files, truth=self.truth)

    @property
    def count(self) -> int:
        """How many file numbers the run needs: every smartstack sub-frame has its own."""
        return self.repeat * self.smartstack
