"""The when and where of one exposure: UTC time, the site's observing night, and a pointing.

Photon Ranch dates a file by the site's *observing night*, not by the UTC day, so a frame taken
at 02:00 local time belongs to the night that began the evening before. The pointing must be one
the telescope could really have taken (above the horizon at that site and time), so that
ALTITUDE, AZIMUTH, AIRMASS and the WCS in the header agree with each other.

Coordinates come straight from ERFA's ICRS <-> observed-place functions (atco13/atoc13, the
IAU 2006/2000A model astropy itself calls), without refraction and with UT1 taken as UTC and
no polar motion, so no IERS table is read and nothing touches the internet. That is within a
few arcseconds of astropy's IERS-corrected answer, which does not matter for test images, and
costs a tenth of a millisecond instead of astropy's frame machinery (2 ms a call, and half a
second for the first call in every process). ERFA's warnings about years beyond its
leap-second table are silenced here only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import erfa
import numpy as np

from send_test_images.errors import UsageError
from send_test_images.exposure.profiles import SiteProfile
from send_test_images.exposure.targets import DEC, RA, target_near
from send_test_images.exposure.targets import NAMES as TARGET_NAMES

TARGET_RA = np.array(RA)
TARGET_DEC = np.array(DEC)

DEFAULT_MIN_ALTITUDE = 30.0
"""Degrees: random pointings stay above this, where sites actually observe."""

DEFAULT_MAX_ALTITUDE = 85.0
"""Degrees: random pointings stay below this, away from the alt-az mount's zenith hole."""

NIGHT_ROLLOVER = dt.timedelta(hours=12)
"""The observing night runs from local noon to local noon."""

DAY_OBS_FORMAT = "%Y%m%d"

NO_REFRACTION = {"phpa": 0.0, "tc": 0.0, "rh": 0.0, "wl": 0.0}
"""ERFA's atmosphere arguments: zero pressure switches refraction off."""

EARTH_ORIENTATION = {"dut1": 0.0, "xp": 0.0, "yp": 0.0}
"""UT1-UTC and polar motion: at most 0.9 s and a fraction of an arcsecond, so left out."""

UTC_SCALE = "UTC"
ICRS_TO_OBSERVED_TYPE = "A"
"""atoc13's input kind: azimuth and zenith distance."""

_POINTING_STREAM = 0x504F494E
"""Mixed into the seed so the pointing does not share random numbers with the pixels."""

_TARGET_STREAM = 0x54415247
"""Mixed into the seed to pick a named target, apart from the fallback's alt/az draw."""

_FIELD_STREAM = 0x4649454C
"""Mixed into the seed to pick one of the fallback fields (`SkyFields`) when no target is up."""

FIELD_TRIES = 4
"""Fallback fields tried for one that `accept`s before the blank-sky draws."""

GMST_J2000_HOURS = 18.697374558
GMST_HOURS_PER_DAY = 24.06570982441908
"""GMST = a + b * (JD - 2451545.0) hours (USNO)."""
J2000_JD = 2451545.0
SELECTION_MARGIN = 1.0
"""Degrees kept inside the altitude range when choosing a target with the quick formula."""

DEFAULT_POINTING_SCATTER = 2.0 / 60.0
"""Degrees: a mount lands within a couple of arcminutes of a target, never on its catalogue
centre to the arcsecond."""

MAX_BLANK_DRAWS = 64
"""Random alt/az pointings tried for one that `accept`s, when no allowed target or fallback field
is up; the last is kept if none does (at ~0.3 ms a try, at most ~18 ms)."""


@dataclass(frozen=True)
class SkyFields:
    """Field centres (ICRS degrees) a random pointing takes when none of its targets is up.

    Catalogue stars pass the sky's richest fields for the camera (sky/pointings.py): one pick
    among those that are up, where 64 blank-sky draws for one that `accept`s mostly failed for a
    small camera and cost ~18 ms an exposure for hours of every night.
    """

    ra: np.ndarray
    dec: np.ndarray


@dataclass(frozen=True)
class Observation:
    """Where the telescope pointed and when. Angles in degrees; `date_obs` is aware, in UTC."""

    date_obs: dt.datetime
    day_obs: str
    ra: float
    dec: float
    altitude: float
    azimuth: float
    airmass: float
    target: str | None = None  # the catalogued object pointed at; None for a blank-sky pointing


def observing_night(date_obs: dt.datetime, timezone: str) -> str:
    """DAY-OBS: the local date (YYYYMMDD) on which the night containing `date_obs` began."""
    local = to_utc(date_obs).astimezone(_zone(timezone))
    return (local.replace(tzinfo=None) - NIGHT_ROLLOVER).strftime(DAY_OBS_FORMAT)


def to_utc(when: dt.datetime) -> dt.datetime:
    """An aware UTC datetime; a naive one is refused because its zone would be a guess."""
    if not isinstance(when, dt.datetime):
        raise UsageError(f"date_obs {when!r} is not allowed: use a datetime with a time zone")
    if when.tzinfo is None or when.utcoffset() is None:
        raise UsageError(
            f"date_obs {when.isoformat()} has no time zone: use an aware datetime, e.g. in UTC"
        )
    return when.astimezone(dt.UTC)


def airmass_from_altitude(altitude: float) -> float:
    """Kasten & Young (1989): finite down to the horizon, unlike sec(z)."""
    alt = max(altitude, 0.0)
    return 1.0 / (math.sin(math.radians(alt)) + 0.50572 * (alt + 6.07995) ** -1.6364)


def make_observation(
    date_obs: dt.datetime,
    site: SiteProfile,
    seed: int,
    *,
    ra: float | None = None,
    dec: float | None = None,
    min_altitude: float = DEFAULT_MIN_ALTITUDE,
    max_altitude: float = DEFAULT_MAX_ALTITUDE,
    targets: Sequence[int] | None = None,
    accept: Callable[[float, float], bool] | None = None,
    fields: Callable[[], SkyFields] | None = None,
) -> Observation:
    """A pointing for `site` at `date_obs`: random (from `seed`) or the given RA/Dec.

    A random pointing goes to a well-known object (targets.py) between the two altitudes, the
    way observers use a site, within a couple of arcminutes of its centre; when none is up it
    is drawn evenly over the sky between the two altitudes. `targets` (indices into
    targets.TARGETS) limits the objects to choose from; when none of them is up, `fields()`
    offers field centres to pick from first (made only then: building them costs a few ms), and
    `accept(ra, dec)` judges those picks and the blank-sky draws (up to MAX_BLANK_DRAWS of
    them): catalogue stars use all three to point where a plate solver finds enough stars
    (sky/pointings.py). A given RA/Dec must be above the
    horizon, else the header would describe a frame no site could take; it is named after the
    target it falls on, if any.
    """
    when = to_utc(date_obs)
    day_obs = observing_night(when, site.timezone)
    if (ra is None) != (dec is None):
        raise UsageError("pointing needs both ra and dec, or neither for a random pointing")
    target: str | None = None
    if ra is None or dec is None:
        picked = _random_target(seed, when, site, min_altitude, max_altitude, targets)
        if picked is None and fields is not None:
            picked = _random_field(seed, when, site, min_altitude, max_altitude, fields(), accept)
        if picked is None:
            draws = _random_altaz(seed, min_altitude, max_altitude)
            for _ in range(MAX_BLANK_DRAWS if accept is not None else 1):
                altitude, azimuth = next(draws)
                ra, dec = altaz_to_radec(altitude, azimuth, when, site)
                if accept is None or accept(ra, dec):
                    break
        else:
            target, ra, dec = picked
            altitude, azimuth = radec_to_altaz(ra, dec, when, site)
    else:
        check_radec(ra, dec)
        altitude, azimuth = radec_to_altaz(ra, dec, when, site)
        if altitude <= 0.0:
            raise UsageError(
                f"pointing RA {ra:.4f} Dec {dec:.4f} is below the horizon at site {site.code} "
                f"at {when.isoformat()} (altitude {altitude:.1f} deg): choose a visible target "
                "or leave ra/dec unset for a random one"
            )
        target = target_near(ra, dec)
    return Observation(
        date_obs=when,
        day_obs=day_obs,
        ra=float(ra) % 360.0,
        dec=float(dec),
        altitude=float(altitude),
        azimuth=float(azimuth) % 360.0,
        airmass=airmass_from_altitude(altitude),
        target=target,
    )


def altaz_to_radec(
    altitude: float, azimuth: float, when: dt.datetime, site: SiteProfile
) -> tuple[float, float]:
    """ICRS RA/Dec (degrees) of a direction seen from `site` at `when` (no refraction)."""
    with _quiet_erfa():
        ra, dec = erfa.atoc13(
            ICRS_TO_OBSERVED_TYPE, math.radians(azimuth), math.radians(90.0 - altitude),
            *_utc_jd(when), **_observer(site),
        )
    return math.degrees(ra) % 360.0, math.degrees(dec)


def radec_to_altaz(
    ra: float, dec: float, when: dt.datetime, site: SiteProfile
) -> tuple[float, float]:
    """Altitude and azimuth (degrees, azimuth east of north) of an ICRS position."""
    with _quiet_erfa():
        azimuth, zenith, *_ = erfa.atco13(
            math.radians(ra), math.radians(dec), 0.0, 0.0, 0.0, 0.0,
            *_utc_jd(when), **_observer(site),
        )
    return 90.0 - math.degrees(zenith), math.degrees(azimuth) % 360.0


def _utc_jd(when: dt.datetime) -> tuple[float, float]:
    """Two-part Julian Date in UTC, leap seconds handled by ERFA."""
    utc = to_utc(when)
    seconds = utc.second + utc.microsecond / 1e6
    return erfa.dtf2d(UTC_SCALE, utc.year, utc.month, utc.day, utc.hour, utc.minute, seconds)


def _observer(site: SiteProfile) -> dict[str, float]:
    return {
        "elong": math.radians(site.longitude),
        "phi": math.radians(site.latitude),
        "hm": site.elevation,
        **EARTH_ORIENTATION,
        **NO_REFRACTION,
    }


def _random_target(
    seed: int, when: dt.datetime, site: SiteProfile, min_altitude: float, max_altitude: float,
    allowed: Sequence[int] | None = None,
) -> tuple[str, float, float] | None:
    """A catalogued target between the altitudes at `when`, scattered by up to
    DEFAULT_POINTING_SCATTER; None when none is up.

    Which targets are up is decided with plain spherical trigonometry on the local mean
    sidereal time (`_up`); ERFA for all ~60 targets cost 3.5 ms, a seventh of a 768² exposure.
    The chosen one's altitude is then computed exactly.
    """
    within = _up(TARGET_RA, TARGET_DEC, when, site, min_altitude, max_altitude)
    if allowed is not None:
        within &= np.isin(np.arange(TARGET_RA.size), np.asarray(allowed, dtype=np.intp))
    up = np.flatnonzero(within)
    if up.size == 0:
        return None
    rng = np.random.default_rng((seed, _TARGET_STREAM))
    index = int(up[rng.integers(up.size)])
    ra_out, dec_out = _scattered(rng, float(TARGET_RA[index]), float(TARGET_DEC[index]))
    return TARGET_NAMES[index], ra_out, dec_out


def _random_field(
    seed: int, when: dt.datetime, site: SiteProfile, min_altitude: float, max_altitude: float,
    fields: SkyFields, accept: Callable[[float, float], bool] | None,
) -> tuple[None, float, float] | None:
    """One of `fields` between the altitudes, scattered like a target, that `accept`s (up to
    FIELD_TRIES picks); None when none is up or no pick is accepted."""
    up = np.flatnonzero(_up(fields.ra, fields.dec, when, site, min_altitude, max_altitude))
    rng = np.random.default_rng((seed, _FIELD_STREAM))
    for _ in range(min(FIELD_TRIES, up.size)):
        index = int(up[rng.integers(up.size)])
        ra, dec = _scattered(rng, float(fields.ra[index]), float(fields.dec[index]))
        if accept is None or accept(ra, dec):
            return None, ra, dec
    return None


def _up(
    ra: np.ndarray, dec: np.ndarray, when: dt.datetime, site: SiteProfile,
    min_altitude: float, max_altitude: float,
) -> np.ndarray:
    """Which positions are between the altitudes at `when`, by the quick formula (J2000, no
    precession: off by a fraction of a degree), kept SELECTION_MARGIN inside the range."""
    lst = math.radians(15.0 * local_sidereal_hours(when, site.longitude))
    lat, dec_r = math.radians(site.latitude), np.radians(dec)
    sin_alt = np.sin(lat) * np.sin(dec_r) + np.cos(lat) * np.cos(dec_r) * np.cos(lst - np.radians(ra))
    altitude = np.degrees(np.arcsin(np.clip(sin_alt, -1.0, 1.0)))
    return (altitude >= min_altitude + SELECTION_MARGIN) & (altitude <= max_altitude - SELECTION_MARGIN)


def _scattered(rng: np.random.Generator, ra: float, dec: float) -> tuple[float, float]:
    """(ra, dec) moved by up to DEFAULT_POINTING_SCATTER in a random direction: where a mount
    sent there lands."""
    radius = DEFAULT_POINTING_SCATTER * math.sqrt(rng.uniform())
    angle = rng.uniform(0.0, 2.0 * math.pi)
    dec_out = float(np.clip(dec + radius * math.sin(angle), -90.0, 90.0))
    ra_out = (ra + radius * math.cos(angle) / max(math.cos(math.radians(dec_out)), 1e-6)) % 360.0
    return float(ra_out), dec_out


def local_sidereal_hours(when: dt.datetime, longitude: float) -> float:
    """Local mean sidereal time in hours (USNO's GMST formula, UT1 taken as UTC): good to a
    fraction of a second, plenty for choosing targets and for SID-TIME in a header."""
    jd = sum(_utc_jd(when))
    gmst = GMST_J2000_HOURS + GMST_HOURS_PER_DAY * (jd - J2000_JD)
    return (gmst + longitude / 15.0) % 24.0


def _random_altaz(seed: int, min_altitude: float, max_altitude: float) -> Iterator[tuple[float, float]]:
    """Alt/az drawn evenly over the sky between the altitudes, one after another from `seed`."""
    if not 0.0 <= min_altitude < max_altitude <= 90.0:
        raise UsageError(
            f"altitude range {min_altitude}..{max_altitude} is not allowed: "
            "use 0 <= min < max <= 90 degrees"
        )
    rng = np.random.default_rng((seed, _POINTING_STREAM))
    low, high = np.sin(np.radians([min_altitude, max_altitude]))
    while True:
        altitude = float(np.degrees(np.arcsin(rng.uniform(low, high))))
        azimuth = float(rng.uniform(0.0, 360.0))
        yield altitude, azimuth


def check_radec(ra: float, dec: float) -> None:
    """Raise UsageError unless RA is in [0, 360) and Dec in [-90, 90] degrees."""
    if not math.isfinite(ra) or not 0.0 <= ra < 360.0:
        raise UsageError(f"ra {ra!r} is not allowed: use degrees from 0 up to 360")
    if not math.isfinite(dec) or not -90.0 <= dec <= 90.0:
        raise UsageError(f"dec {dec!r} is not allowed: use degrees from -90 to 90")


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"time zone {timezone!r} is not known: use an IANA name like America/Los_Angeles"
        ) from None


@contextlib.contextmanager
def _quiet_erfa() -> Iterator[None]:
    """Years beyond ERFA's leap-second table are fine for test images; keep its warning here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=erfa.ErfaWarning, message=".*dubious year")
        yield
