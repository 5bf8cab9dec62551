"""What a frame is asked to be (FrameSpec) and what comes back (Frame), checked in one place.

Validation happens before any pixel is drawn so a bad value costs nothing and the message can
name the value and what is allowed, the way every UsageError in this tool does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from astropy.table import Table

from send_test_images import defaults
from send_test_images.errors import UsageError
from send_test_images.exposure.options import MAX_EXPTIME, MAX_SEEING, MIN_SEEING, STAR_SOURCES
from send_test_images.exposure.profiles import CameraProfile
from send_test_images.exposure.synth.sky import SKY_BRIGHTNESS, ZEROPOINTS

FRAME_KINDS = ("light", "bias", "dark", "flat")
IMAGE_KINDS = ("sky", "perlin")

DEFAULT_KIND = defaults.FRAME
DEFAULT_IMAGE = defaults.IMAGE
DEFAULT_EXPTIME = defaults.EXPTIME  # seconds
DEFAULT_FILTER = defaults.FILTER
DEFAULT_SEEING_FWHM = defaults.SEEING  # arcsec
DEFAULT_FLAT_LEVEL = 0.58  # fraction of full well at the optical centre of a flat
DEFAULT_STAR_DENSITY = 3000.0  # stars per square degree brighter than the reference magnitude
DEFAULT_CLOUDS = 0.04  # relative amplitude of thin cloud structure on the sky; 0 is clear

SKY_BRIGHTNESS_RANGE = (10.0, 30.0)  # mag/arcsec^2: full moon in twilight .. darker than space
FLAT_LEVEL_RANGE = (0.01, 1.0)  # fraction of full well
MAX_CLOUDS = 1.0
MAX_STAR_DENSITY = 1e6  # per square degree; the renderer caps the star count anyway


@dataclass(frozen=True)
class FrameSpec:
    """The physical knobs of one exposure; everything else comes from the camera profile.

    `sky_brightness=None` takes the typical dark-sky value of the filter (sky.SKY_BRIGHTNESS), so
    narrowband frames come out much darker without the caller knowing the table.
    """

    kind: str = DEFAULT_KIND
    image: str = DEFAULT_IMAGE
    exptime: float = DEFAULT_EXPTIME  # seconds; a bias is always read out as 0 s
    filter: str = DEFAULT_FILTER
    seeing_fwhm: float = DEFAULT_SEEING_FWHM  # arcsec
    sky_brightness: float | None = None  # mag/arcsec^2 in `filter`
    cosmic_rays: bool = False
    satellite: bool = False
    flat_level: float = DEFAULT_FLAT_LEVEL  # fraction of full well
    star_density: float = DEFAULT_STAR_DENSITY
    clouds: float = DEFAULT_CLOUDS
    field_seed: int | None = None  # draws the star field apart from the noise: a smartstack's frames share one
    stars: str = defaults.STARS  # catalogue: bright stars of the real sky (products places them); synthetic: none


@dataclass(frozen=True)
class Frame:
    """The pixels, the stars that were put in them, and how they were made.

    `pixels` is uint16 ADU including bias (the FITS writer stores it with BZERO 32768);
    `truth` has x, y (0-based pixel centres), flux (e-), mag, peak (ADU above background),
    snr and saturated, one row per injected star, empty for calibration frames and perlin
    images; `params` holds every synthesis parameter as str/int/float for header provenance.
    """

    pixels: np.ndarray
    truth: Table
    params: dict[str, float | int | str] = field(default_factory=dict)
    expected: np.ndarray | None = None  # noiseless float32 ADU, only when asked for

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) in pixels, as FrameSketch has it."""
        height, width = self.pixels.shape
        return (height, width)


@dataclass(frozen=True)
class FrameSketch:
    """A frame described without its pixels: what a header needs when no pixel file is sent.

    `truth` is the very star list `make_frame` with the same seed would draw (same generator,
    same draws), with each star's peak and SNR worked out from the PSF instead of read off a
    rendered stamp and the optics' response taken as 1; `params` are the synthesis parameters
    known before any pixel is drawn (those that count what the pixels did, such as bleed
    columns or cosmic-ray hits, are left out).
    """

    shape: tuple[int, int]
    truth: Table
    params: dict[str, float | int | str] = field(default_factory=dict)


def check_spec(spec: FrameSpec, camera: CameraProfile) -> None:
    """Raise UsageError naming the first value of `spec` that `camera` cannot expose."""
    if not isinstance(spec, FrameSpec):
        raise UsageError(f"frame spec {spec!r} is not allowed: use a synth.FrameSpec")
    _check_choice("frame kind", spec.kind, FRAME_KINDS)
    _check_choice("image", spec.image, IMAGE_KINDS)
    _check_choice("stars", spec.stars, STAR_SOURCES)
    _check_choice(f"filter for camera {camera.name}", spec.filter, camera.filters)
    _check_choice("filter", spec.filter, tuple(ZEROPOINTS))
    _check_range("exposure time", spec.exptime, 0.0, MAX_EXPTIME, "seconds")
    if spec.kind == "light" and spec.exptime <= 0:
        raise UsageError(f"exposure time {spec.exptime!r} is not allowed for a light: use > 0 s")
    _check_range("seeing FWHM", spec.seeing_fwhm, MIN_SEEING, MAX_SEEING, "arcsec")
    if spec.sky_brightness is not None:
        _check_range("sky brightness", spec.sky_brightness, *SKY_BRIGHTNESS_RANGE, "mag/arcsec^2")
    _check_range("flat level", spec.flat_level, *FLAT_LEVEL_RANGE, "of full well")
    _check_range("star density", spec.star_density, 0.0, MAX_STAR_DENSITY, "per square degree")
    _check_range("clouds", spec.clouds, 0.0, MAX_CLOUDS, "(relative amplitude)")
    if spec.field_seed is not None and (
        isinstance(spec.field_seed, bool) or not isinstance(spec.field_seed, int) or spec.field_seed < 0
    ):
        raise UsageError(f"field seed {spec.field_seed!r} is not allowed: use a whole number >= 0")
    for name in ("cosmic_rays", "satellite"):
        value = getattr(spec, name)
        if not isinstance(value, bool):
            raise UsageError(f"{name} {value!r} is not allowed: use True or False")
    _check_camera(camera)


def sky_brightness_for(spec: FrameSpec) -> float:
    """The sky surface brightness the frame uses: the spec's, or the filter's typical value."""
    if spec.sky_brightness is not None:
        return float(spec.sky_brightness)
    return SKY_BRIGHTNESS[spec.filter]


def _check_camera(camera: CameraProfile) -> None:
    if not isinstance(camera, CameraProfile):
        raise UsageError(f"camera {camera!r} is not allowed: use a profiles.CameraProfile")
    if camera.width < 1 or camera.height < 1:
        raise UsageError(
            f"camera size {camera.width}x{camera.height} is not allowed: use at least 1x1 pixels"
        )
    for name in ("gain", "pixel_scale", "full_well"):
        _check_range(f"camera {name}", getattr(camera, name), 0.0, math.inf, "", open_low=True)
    _check_range("camera read noise", camera.read_noise, 0.0, math.inf, "electrons")
    _check_range("camera dark current", camera.dark_current, 0.0, math.inf, "e-/pixel/s")
    if not 0 <= camera.bias_level < camera.saturation <= np.iinfo(np.uint16).max:
        raise UsageError(
            f"camera bias {camera.bias_level} / saturation {camera.saturation} are not allowed:"
            " use 0 <= bias < saturation <= 65535 ADU"
        )


def _check_choice(what: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise UsageError(f"{what} {value!r} is not allowed: use one of {', '.join(allowed)}")


def _check_range(
    what: str, value: object, low: float, high: float, unit: str, *, open_low: bool = False
) -> None:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    ok = is_number and math.isfinite(value) and (value > low if open_low else value >= low)
    if not ok or value > high:  # type: ignore[operator]
        lowest = f"> {low:g}" if open_low else f">= {low:g}"
        upper = "" if math.isinf(high) else f" and <= {high:g}"
        raise UsageError(f"{what} {value!r} is not allowed: use a number {lowest}{upper} {unit}"
                         .rstrip())
