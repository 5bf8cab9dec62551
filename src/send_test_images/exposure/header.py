"""The FITS header of one exposure, as a Photon Ranch site writes it (protocol page §6).

The header is the only place the service learns *what* an image is: ingestion reads DATE-OBS,
the pointing, filter, exposure time and user from the uploaded `…-EX00.txt` with a crude reading
rule (protocol §3), and the web UI shows those values. So every value here is a plain string or
number (never pre-quoted), angles agree with each other (WCS centre = RA/DEC = what ALTITUDE and
AZIMUTH point at), and the provenance (tool version, seed, every synthesis parameter) lets anyone
rebuild the frame bit for bit.

`make_header` is pure: the same spec, frame and observation give the same header.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
from astropy.coordinates import Angle
from astropy.io import fits

from send_test_images import __version__
from send_test_images.exposure.naming import FileName
from send_test_images.exposure.observation import Observation

if TYPE_CHECKING:
    from send_test_images.exposure.spec import ExposureSpec
    from send_test_images.exposure.synth import Frame

PROGRAM = "send-test-images"

CARD_LENGTH = 80
KEYWORD_LENGTH = 8
VALUE_START = 10
"""Columns taken by `KEYWORD= ` before a value."""
FIXED_VALUE_WIDTH = 20
"""Fixed-format numbers and logicals end in column 30."""
MIN_STRING_CHARS = 8
COMMENT_SEPARATOR = " / "

DATE_OBS_DECIMALS = 3
"""DATE-OBS to the millisecond, `YYYY-MM-DDTHH:MM:SS.sss` as in protocol §3."""

UNIX_EPOCH_MJD = 40587.0
SECONDS_PER_DAY = 86400.0
MJD_TO_JD = 2400000.5

ARCSEC_PER_DEGREE = 3600.0
DEGREES_PER_HOUR = 15.0

UINT16_BZERO = 32768
"""How FITS stores unsigned 16-bit pixels: signed int16 plus this offset."""

NORMAL_FRAME_STACK = "no"
"""SMARTSTK of a frame that is not part of a smartstack, as sites write it."""

USERID_STRIPPED = "-|@"
"""Characters sites strip from USERID (it comes from an OAuth subject like `google-oauth2|123`)."""

IMAGETYP = {"light": "Light Frame", "bias": "Bias Frame", "dark": "Dark Frame", "flat": "Flat Field"}
"""The MaxIm DL / SBIG spelling most reduction tools look for."""

OBSTYPE = {"light": "LIGHT", "bias": "BIAS", "dark": "DARK", "flat": "SKYFLAT"}
"""The Photon Ranch observatory code's spelling."""

SYNTH_PREFIX = "HIERARCH SYNTH "
"""Synthesis parameters have long names, so they go in HIERARCH cards under one namespace."""


def make_header(spec: ExposureSpec, frame: Frame, observation: Observation) -> fits.Header:
    """The level-00 (full frame) header; fitsfiles rescales a copy for the small FITS."""
    camera, site = spec.camera, spec.site_profile
    height, width = frame.pixels.shape
    kind = spec.frame.kind
    exptime = float(frame.params.get("exptime", spec.frame.exptime))
    original = FileName(
        site=spec.site, inst=spec.inst, date=observation.day_obs, number=spec.number,
        data_type=spec.data_type, level="00", ext="fits",
    )
    stack_id, stack_index, stack_length = spec.smartstack or (NORMAL_FRAME_STACK, 0, 1)
    start = observation.date_obs
    middle = start + dt.timedelta(seconds=exptime / 2)
    scale = camera.pixel_scale

    cards: list[tuple[str, object, str]] = [
        ("SIMPLE", True, "conforms to FITS standard"),
        ("BITPIX", 16, "array data type"),
        ("NAXIS", 2, "number of array dimensions"),
        ("NAXIS1", width, ""),
        ("NAXIS2", height, ""),
        ("BSCALE", 1, ""),
        ("BZERO", UINT16_BZERO, "unsigned 16-bit pixels"),
        ("BUNIT", "adu", "pixel unit"),
        ("OBSERVAT", site.name, "Observatory name"),
        ("SITEID", spec.site, "Site code"),
        ("SITE", site.name, "Site name"),
        ("LATITUDE", round(site.latitude, 6), "[Deg N] Telescope Latitude"),
        ("LONGITUD", round(site.longitude, 6), "[Deg E] Telescope Longitude"),
        ("HEIGHT", round(site.elevation, 2), "[m] Altitude of Telescope above sea level"),
        ("TELESCOP", f"{spec.site}-tel1", "Telescope"),
        ("INSTRUME", spec.inst, "Name of camera"),
        ("CAMNAME", camera.name, "Camera profile"),
        ("ORIGNAME", str(original), "Original file name"),
        ("FRAMENUM", spec.number, "Running frame number"),
        ("IMAGETYP", IMAGETYP[kind], "Type of image"),
        ("OBSTYPE", OBSTYPE[kind], "Observation type"),
        ("TIMESYS", "UTC", "Time system used"),
        ("DATE", format_date_obs(start), "Start date and time of observation"),
        ("DATE-OBS", format_date_obs(start), "Start date and time of observation"),
        ("DAY-OBS", observation.day_obs, "Date at start of observing night"),
        ("MJD-OBS", mjd(start), "[UTC days] Modified Julian Date start date/time"),
        ("JD-START", mjd(start) + MJD_TO_JD, "[UTC days] Julian Date at start of exposure"),
        ("MJD-MID", mjd(middle), "[UTC days] Modified Julian Date mid exposure"),
        ("EXPTIME", exptime, "[s] Actual exposure length"),
        ("EXPOSURE", exptime, "[s] Actual exposure length"),
        ("FILTER", spec.frame.filter, "Filter type"),
        ("OBJECT", object_name(observation, kind), "Object name"),
        ("RA", format_ra(observation.ra), "[hms] Telescope right ascension"),
        ("DEC", format_dec(observation.dec), "[dms] Telescope declination"),
        ("RAHRS", round(observation.ra / DEGREES_PER_HOUR, 8), "[hrs] Telescope right ascension"),
        ("RADEG", round(observation.ra, 8), "[deg] Telescope right ascension"),
        ("DECDEG", round(observation.dec, 8), "[deg] Telescope declination"),
        ("EQUINOX", 2000.0, "Equinox of the coordinates"),
        ("RADESYS", "ICRS", "Reference frame"),
        ("ALTITUDE", round(observation.altitude, 5), "[deg] Altitude axis position"),
        ("AZIMUTH", round(observation.azimuth, 5), "[deg] Azimuth axis position"),
        ("ZENITH", round(90.0 - observation.altitude, 5), "[deg] Zenith"),
        ("AIRMASS", round(observation.airmass, 5), "Effective mean airmass"),
        ("USERNAME", spec.user_name, "Observer name"),
        ("USERID", clean_user_id(spec.user_id), "Observer id"),
        ("SMARTSTK", stack_id, "ID code for a smart stack group"),
        ("SSTKNUM", stack_index, "0-based index of this frame in its stack"),
        ("SSTKLEN", stack_length, "Number of frames in the smart stack"),
        ("GAIN", camera.gain, "[e-/ADU] Pixel gain"),
        ("RDNOISE", camera.read_noise, "[e-/pixel] Read noise"),
        ("SATURATE", float(camera.saturation), "[ADU] Saturation level"),
        ("FULLWELL", camera.full_well, "[e-] Full well capacity"),
        ("CCD-TEMP", camera.temperature, "[C] Sensor temperature"),
        ("SET-TEMP", camera.temperature, "[C] Sensor set point"),
        ("XBINNING", 1, "Binning in x"),
        ("YBINNING", 1, "Binning in y"),
        ("PIXSCALE", scale, "[arcsec/pixel] Nominal pixel scale on sky"),
        ("WCSAXES", 2, "Number of WCS axes"),
        ("CTYPE1", "RA---TAN", "Gnomonic projection"),
        ("CTYPE2", "DEC--TAN", "Gnomonic projection"),
        ("CUNIT1", "deg", ""),
        ("CUNIT2", "deg", ""),
        ("CRVAL1", observation.ra, "[deg] RA at the reference pixel"),
        ("CRVAL2", observation.dec, "[deg] Dec at the reference pixel"),
        ("CRPIX1", (width + 1) / 2, "Reference pixel: the frame centre (1-based)"),
        ("CRPIX2", (height + 1) / 2, "Reference pixel: the frame centre (1-based)"),
        ("CDELT1", -scale / ARCSEC_PER_DEGREE, "[deg/pixel] RA increases to the left"),
        ("CDELT2", scale / ARCSEC_PER_DEGREE, "[deg/pixel] north is up"),
        ("PROGRAM", PROGRAM, "Software that made this frame"),
        ("PROGVER", __version__, "Its version"),
        ("SEED", spec.seed, "Random seed; same spec and seed, same pixels"),
    ]
    synth = [
        fits.Card(SYNTH_PREFIX + name.upper(), _plain(value))
        for name, value in sorted(frame.params.items())
    ]
    return fits.Header([_card(key, value, comment) for key, value, comment in cards] + synth)


def header_text(header: fits.Header) -> bytes:
    """The `.txt` file: 80-character cards, no newlines, END, padded (astropy's tostring)."""
    return header.tostring().encode("ascii")


def format_date_obs(when: dt.datetime) -> str:
    """UTC `YYYY-MM-DDTHH:MM:SS.sss`, no zone suffix, as sites write DATE-OBS."""
    utc = when.astimezone(dt.UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="milliseconds")


def mjd(when: dt.datetime) -> float:
    """Modified Julian Date (UTC) without astropy's Time, which would need leap-second tables."""
    return when.timestamp() / SECONDS_PER_DAY + UNIX_EPOCH_MJD


def format_ra(ra: float) -> str:
    """`HHhMMmSS.SSs`: astropy's hmsdms form, which current site code writes."""
    return Angle(ra, unit="deg").to_string(unit="hourangle", sep="hms", precision=2, pad=True)


def format_dec(dec: float) -> str:
    """`+DDdMMmSS.Ss`, signed."""
    return Angle(dec, unit="deg").to_string(
        unit="deg", sep="dms", precision=1, pad=True, alwayssign=True
    )


def object_name(observation: Observation, kind: str) -> str:
    """The target's name; site code names an unnamed pointing after its coordinates
    (`13h2ran2d5dec`, post_exposure_subprocess.py); calibration frames by type."""
    if kind != "light":
        return OBSTYPE[kind].lower()
    if observation.target:
        return observation.target
    ra, dec = observation.ra, observation.dec
    return f"{ra / DEGREES_PER_HOUR:.1f}".replace(".", "h") + "ra" + (
        f"{dec:.1f}".replace("-", "n").replace(".", "d") + "dec"
    )


def clean_user_id(user_id: str) -> str:
    """USERID as sites write it: the OAuth subject with `-`, `|` and `@` removed."""
    return user_id.translate({ord(char): None for char in USERID_STRIPPED})


def _card(key: str, value: object, comment: str) -> fits.Card:
    """A card whose comment is cut to fit 80 characters (long site names would push it out)."""
    used = _value_end(key, value)
    if used is None:  # a shape the shortcut does not cover: ask astropy
        used = len(fits.Card(key, value).image.rstrip())
    room = CARD_LENGTH - used - len(COMMENT_SEPARATOR)
    return fits.Card(key, value, comment[: max(room, 0)] if room > 0 else "")


def _value_end(key: str, value: object) -> int | None:
    """Where the value ends in the card `key = value`, as astropy lays it out (FITS fixed
    format): numbers and logicals right-aligned to column 30, strings quoted, at least 8
    characters inside the quotes unless empty. None for anything else (long keys, long numbers).

    Building a throw-away Card to measure this cost more than the header's other work.
    """
    if len(key) > KEYWORD_LENGTH:
        return None
    if isinstance(value, str):
        inside = max(len(value.replace("'", "''")), MIN_STRING_CHARS) if value else 0
        return VALUE_START + len("''") + inside
    if isinstance(value, bool | float) or (
        isinstance(value, int) and len(str(value)) <= FIXED_VALUE_WIDTH
    ):
        return VALUE_START + FIXED_VALUE_WIDTH
    return None


def _plain(value: object) -> object:
    """numpy scalars become Python ones so astropy writes them as numbers, not strings."""
    if isinstance(value, np.generic):
        return value.item()
    return value
