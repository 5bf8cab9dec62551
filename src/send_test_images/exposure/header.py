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
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from astropy.coordinates import Angle
from astropy.io import fits

from send_test_images import __version__
from send_test_images.exposure.cards import card_image, header_block, history_image
from send_test_images.exposure.framewcs import wcs_cards
from send_test_images.exposure.measure import (
    MAD_TO_SIGMA,
    NOT_MEASURED,
    Histogram,
    ImageStats,
    StarStats,
    image_statistics,
    star_statistics,
)
from send_test_images.exposure.naming import FileName
from send_test_images.exposure.observation import Observation, local_sidereal_hours
from send_test_images.exposure.predict import predict_image_statistics, predict_star_statistics
from send_test_images.exposure.provenance import history_lines
from send_test_images.exposure.sky import catalogue
from send_test_images.exposure.synth import Frame, FrameSketch

if TYPE_CHECKING:
    from send_test_images.exposure.spec import ExposureSpec

PROGRAM = "send-test-images"

MEASURED_FROM_PIXELS = "pixels"
MEASURED_PREDICTED = "predicted"
"""MEASURED: where IMG*, SEPSKY, FWHM* and NSTARS come from. `predicted` when the frame was
described without pixels (a header sent alone); predict.py says how."""


DATE_OBS_DECIMALS = 3
"""DATE-OBS to the millisecond, `YYYY-MM-DDTHH:MM:SS.sss` as in protocol §3."""

UNIX_EPOCH_MJD = 40587.0
SECONDS_PER_DAY = 86400.0
MJD_TO_JD = 2400000.5

ARCSEC_PER_RADIAN = 206264.806
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

SITE_IMAGETYP = {"light": "EXPOSE", "bias": "BIAS", "dark": "DARK", "flat": "SKYFLAT"}
"""ptr-observatory writes its frame type upper-cased in both IMAGETYP and OBSTYPE
(post_exposure_subprocess.py); a light is an `expose`."""

FRAME_TYPE = {"light": "expose", "bias": "bias", "dark": "dark", "flat": "skyflat"}
"""The site's frame-type word, as it appears inside ORIGNAME."""

SITE_USERID_REPLACED = {ord("-"): None, ord("|"): None, ord("@"): "at"}
"""The site strips `-` and `|` from USERID and spells `@` as `at` (post_exposure_subprocess.py)."""

DEFAULT_FOCUS_POSITION = 10500.0  # um: a typical focuser reading
DEFAULT_FOCUS_TEMPERATURE = 8.0  # C
DEFAULT_READOUT_SECONDS = 2.4
DEFAULT_LINEARITY = 0.95  # MAXLIN as a fraction of SATURATE
DEFAULT_SMALL_PEDESTAL = 200.0  # the site adds 200 ADU to the reduced small FITS (PEDESTAL)
PLACEHOLDER_ID = 1  # BLKUID_PLACEHOLDER / REQNUM_PLACEHOLDER in post_exposure_subprocess.py
SITE_OPERATOR = "WER"  # hard-coded in post_exposure_subprocess.py
SITE_FILTER_NUMBER = "PTR_ADON_HA_0023"  # hard-coded FILTRNUM in post_exposure_subprocess.py
SITE_ENCLOSURE_LIGHTS = "Off/White/Red/NIR"
SECONDARY_OBSTRUCTION = 0.35  # fraction of the aperture's diameter (APR-AREA)
CMOS_SETTINGS = {"CMOSGAIN": (56, "CMOS Camera System Gain"),
                 "CMOSOFFS": (30, "CMOS Camera System Offset"),
                 "CAMUSBT": (60, "Camera USB traffic"), "READMODE": (1, "QHY Readout Mode")}
"""What a site driving a QHY camera directly adds (post_exposure_subprocess.py)."""


def make_header(spec: ExposureSpec, frame: Frame | FrameSketch, observation: Observation) -> fits.Header:
    """The level-00 (full frame) header; fitsfiles rescales a copy for the small FITS.

    Both styles carry every keyword ptr-observatory writes (docs/real-site-headers.md), with
    values measured from the frame where a site measures them (measure.py). `default` keeps
    this tool's earlier keywords and spellings beside them (IMAGETYP 'Light Frame', XBINNING,
    CCD-TEMP, SITEID = the site code); `site` (the ptr-observatory preset) writes only the
    site's own, spelled and valued as it does.
    """
    return fits.Header.fromstring(make_header_text(spec, frame, observation).decode("ascii"))


def make_header_text(spec: ExposureSpec, frame: Frame | FrameSketch, observation: Observation, *,
                     measured: FrameMeasures | None = None) -> bytes:
    """The `.txt` of `make_header(spec, frame, observation)`, written directly (cards.py):
    products uses this text for the `.txt` and the FITS cards, and parses it once for the rest.
    `measured` as in header_card_images."""
    return header_block(header_card_images(spec, frame, observation, measured=measured)).encode("ascii")


@dataclass(frozen=True)
class FrameMeasures:
    """What the header measures from the pixels (IMG*, SEPSKY, FWHM*, NSTARS).

    Measuring is most of a header's cost and depends on the pixels alone (never on the names,
    the time or the pointing), so a caller that writes many headers for one frame (the load
    pool) measures once and passes this to `header_card_images`.
    """

    stats: ImageStats
    stars: StarStats
    predicted: bool = False  # from the recipe (a FrameSketch), not from pixels


def measure_frame(spec: ExposureSpec, frame: Frame | FrameSketch, *,
                  histogram: Histogram | None = None) -> FrameMeasures:
    """The pixel measurements `make_header` writes for `frame` (as its own cards measure them);
    for a sketch, what they would be (predict.py). `histogram`: the pixels' sample histogram,
    when the caller has counted them already (measure.sample_histogram)."""
    if isinstance(frame, FrameSketch):
        stats = predict_image_statistics(frame, spec.camera)
        stars = predict_star_statistics(
            frame, pixel_scale=spec.camera.pixel_scale, seeing_fwhm=spec.frame.seeing_fwhm,
            sky_sigma=MAD_TO_SIGMA * stats.mad,
        )
        return FrameMeasures(stats, stars, predicted=True)
    stats = image_statistics(frame.pixels, histogram)
    return FrameMeasures(stats, _star_stats(spec, frame, stats))


def header_card_images(
    spec: ExposureSpec,
    frame: Frame | FrameSketch,
    observation: Observation,
    *,
    measured: FrameMeasures | None = None,
) -> list[str]:
    """Every 80-character card of `make_header_text`, in order, HISTORY included, without END.

    With `measured` (from `measure_frame` of the same pixels) the pixels are not read again,
    only their shape, so the cards of another exposure of the same frame cost no measuring:
    the load pool writes each exposure's cards this way and stamps those that changed, so what
    it stamps is this very code's output and cannot drift from `make_header`.
    """
    site_style = spec.header_style == "site"
    measured = measured or measure_frame(spec, frame)
    cards = _site_cards(spec, frame, observation, site_style=site_style, measured=measured)
    if not site_style:
        cards = _with_default_cards(cards, spec, frame, observation)
    cards += _provenance_keys(spec, frame, measured)
    images = [card_image(key, value, comment) for key, value, comment in cards]
    images += [history_image(line) for line in history_lines(spec, frame.params)]
    return images


def _site_cards(
    spec: ExposureSpec, frame: Frame | FrameSketch, observation: Observation, *, site_style: bool,
    measured: FrameMeasures,
) -> list[tuple[str, object, str]]:
    """Every keyword of a real site's header, in the site's order (post_exposure_subprocess.py,
    then photometry_process.py), with this frame's values; `measured` are its pixels' (only the
    pixels' shape is read here)."""
    camera, site = spec.camera, spec.site_profile
    height, width = frame.shape
    kind = spec.frame.kind
    exptime = float(frame.params.get("exptime", spec.frame.exptime))
    stack_id, stack_index, stack_length = spec.smartstack or (NORMAL_FRAME_STACK, 0, 1)
    start = observation.date_obs
    middle = start + dt.timedelta(seconds=exptime / 2)
    scale = camera.pixel_scale
    obs_id = _plain_id(spec.site)
    ra_hms, dec_dms = format_ra_site(observation.ra), format_dec_site(observation.dec)
    lst = local_sidereal_hours(start, site.longitude)
    hour_angle = (lst - observation.ra / DEGREES_PER_HOUR + 12.0) % 24.0 - 12.0
    look_east = hour_angle < 0
    focal = ARCSEC_PER_RADIAN * camera.pixel_size / 1000.0 / scale  # mm
    aperture = focal / camera.f_ratio
    stats, stars = measured.stats, measured.stars
    imagetyp = SITE_IMAGETYP[kind] if site_style else IMAGETYP[kind]
    obstype = SITE_IMAGETYP[kind] if site_style else OBSTYPE[kind]
    length: object = float(stack_length) if site_style else stack_length
    cards: list[tuple[str, object, str]] = [
        ("SIMPLE", True, "conforms to FITS standard"),
        ("BITPIX", 16, "array data type"),
        ("NAXIS", 2, "number of array dimensions"),
        ("NAXIS1", width, ""),
        ("NAXIS2", height, ""),
        ("BSCALE", 1, ""),
        ("BZERO", UINT16_BZERO, "unsigned 16-bit pixels"),
        ("BUNIT", "adu", "Unit of array values"),
        ("CCDXPIXE", camera.pixel_size, "[um] Size of unbinned pixel, in X"),
        ("CCDYPIXE", camera.pixel_size, "[um] Size of unbinned pixel, in Y"),
        ("XPIXSZ", round(camera.pixel_size, 3), "[um] Size of binned pixel"),
        ("YPIXSZ", round(camera.pixel_size, 3), "[um] Size of binned pixel"),
        ("XBINING", 1, "Pixel binning in x direction"),
        ("YBINING", 1, "Pixel binning in y direction"),
        ("CONFMODE", "default", "LCO Configuration Mode"),
        ("DOCOSMIC", False, "Cosmic ray removal in EVA"),
        ("DOSNP", False, "Salt and Pepper removal in EVA"),
        ("DODBND", False, "Debanding removal in EVA"),
        ("CCDSTEMP", round(camera.temperature, 2), "[C] CCD set temperature"),
        ("CCDATEMP", round(camera.temperature, 2), "[C] CCD actual temperature"),
        ("CCDHUMID", 18.0, ""),
        ("CCDPRESS", 1013.0, ""),
        ("OBSID", obs_id, ""),
        ("SITEID", site.siteid if site_style else spec.site, "The WEMA ID. Required for LCO archive"),
        ("TELID", obs_id, ""),
        ("TELESCOP", obs_id if site_style else f"{spec.site}-tel1", "Telescope"),
        ("PTRTEL", obs_id, ""),
        ("PROPID", "na", "LCO Proposal ID"),
        ("BLKUID", PLACEHOLDER_ID, "LCO scheduled block ID"),
        ("INSTRUME", spec.inst, "Name of instrument"),
        ("CAMNAME", camera.model if site_style else camera.name, "Instrument used"),
        ("DETECTOR", camera.detector, "Name of camera detector"),
        ("CAMMANUF", camera.manufacturer, "Name of camera manufacturer"),
        ("DARKSLID", "N.A.", "Darkslide state"),
        ("SHUTTYPE", "none", "Type of shutter"),
        ("GAIN", round(camera.gain, 3), "[e-/ADU] Pixel gain"),
        ("ORIGGAIN", round(camera.gain, 3), "[e-/ADU] Original Pixel gain"),
        ("RDNOISE", round(camera.read_noise, 3), "[e-/pixel] Read noise"),
        ("OSCCAM", False, "Is OSC camera"),
        ("OSCMONO", False, "If OSC,  a mono image or Bayer?"),
        ("FULLWELL", camera.full_well, "Full well capacity"),
        ("CMOSCAM", True, "Is CMOS camera"),
        *[(key, value, comment) for key, (value, comment) in CMOS_SETTINGS.items()
          if camera.manufacturer == "QHYCCD"],
        ("READOUTE", DEFAULT_READOUT_SECONDS, "Readout time estimated from this exposure"),
        ("READOUTU", DEFAULT_READOUT_SECONDS, "Readout time used for this exposure"),
        ("OBSTYPE", obstype, "Observation type"),
        ("IMAGETYP", imagetyp, "Type of image"),
        ("TIMESYS", "UTC", "Time system used"),
        ("DAY-OBS", observation.day_obs, "Date at start of observing night"),
        ("L1PUBDAT", format_l1pubdat(start - dt.timedelta(days=1)), ""),
        ("DATE", format_date_obs(start), "Start date and time of observation"),
        ("DATE-OBS", format_date_obs(start), "Start date and time of observation"),
        ("MJD-OBS", mjd(start), "[UTC days] Modified Julian Date start date/time"),
        ("JD-START", mjd(start) + MJD_TO_JD, "[UTC days] Julian Date at start of exposure"),
        ("MJD-MID", mjd(middle), "[UTC days] Modified Julian Date mid exposure"),
        ("JD-MID", mjd(middle) + MJD_TO_JD, "[UTC days] Julian Date at middle of exposure"),
        ("EXPTIME", round(exptime, 6), "[s] Actual exposure length"),
        ("EXPREQ", round(exptime, 6), "[s] Requested Exposure Time"),
        *([("EXPREQSE", round(exptime, 6), "[s] Open Shutter Time of this smartstack element")]
          if spec.smartstack else []),
        ("EFFEXPT", round(exptime, 6), "[s] Integrated exposure length"),
        ("EFFEXPN", 1, "Number of integrated exposures"),
        ("EXPOSURE", round(exptime, 6), "[s] Actual exposure length"),
        ("NEXPREQ", 1, "Number of exposures requested"),
        ("BATCHCDE", f"{obs_id}_{start.strftime('%Y-%m-%d_%H-%M-%S')}", "unique batch code"),
        ("FILTER", spec.frame.filter, "Filter type"),
        ("FILTEROF", 0, "Filter offset"),
        ("FILTRNUM", SITE_FILTER_NUMBER, "An index into a DB"),
        ("OSCMATCH", "no", ""),
        ("OSCSEP", "no", ""),
        ("SATURATE", float(camera.saturation), "[ADU] Saturation level"),
        ("MAXLIN", float(round(DEFAULT_LINEARITY * camera.saturation)), "[ADU] Non-linearity level"),
        ("FOCAL", round(focal, 2), "[mm] Telescope focal length"),
        ("APR-DIA", round(aperture, 2), "[mm] Telescope aperture"),
        ("APR-AREA", round(math.pi / 4 * aperture**2 * (1 - SECONDARY_OBSTRUCTION**2), 1),
         "[mm^2] Telescope collecting area"),
        ("LATITUDE", round(site.latitude, 6), "[Deg N] Telescope Latitude"),
        ("LONGITUD", round(site.longitude, 6), "[Deg E] Telescope Longitude"),
        ("HEIGHT", round(site.elevation, 2), "[m] Altitude of Telescope above sea level"),
        ("MPC-CODE", "na", "Site code"),
        ("OBJECT", object_name(observation, kind), "Object name"),
        ("OBJSPECF", "no", ""),
        ("SID-TIME", round(lst, 6), "[deg] Sidereal time"),
        ("OBJCTRA", observation.ra, "[deg] Object RA"),
        ("OBJCTDEC", observation.dec, "[deg] Object dec"),
        ("OBSERVER", spec.user_name, "Observer name"),
        ("OBSNOTE", "", ""),
        ("DITHER", 0, "[] Dither"),
        ("OPERATOR", SITE_OPERATOR, "Site operator"),
        ("ENCLIGHT", SITE_ENCLOSURE_LIGHTS, "Enclosure lights"),
        ("ENCRLIGT", "", "Enclosure red lights state"),
        ("ENCWLIGT", "", "Enclosure white lights state"),
        ("MNT-SIDT", round(lst, 6), "[hrs] Mount sidereal time"),
        ("MNT-RA", observation.ra, "[deg] Mount RA"),
        ("MNT-HA", round(hour_angle, 5), "[hrs] Average mount hour angle"),
        ("MNT-DEC", observation.dec, "[deg] Average mount declination"),
        ("MNT-RAV", 0.0, "[] Mount tracking RA rate"),
        ("MNT-DECV", 0.0, "[] Mount tracking dec rate"),
        ("AZIMUTH", round(observation.azimuth, 5), "[deg] Azimuth axis positions"),
        ("ALTITUDE", round(observation.altitude, 5), "[deg] Altitude axis position"),
        ("ZENITH", round(90.0 - observation.altitude, 5), "[deg] Zenith"),
        ("AIRMASS", round(observation.airmass, 5), "Effective mean airmass"),
        ("MNTRDSYS", "J2000", "Mount coordinate system"),
        ("POINTINS", "tel1", ""),
        ("MNT-PARK", False, "Mount is parked"),
        ("MNT-SLEW", False, "Mount is slewing"),
        ("MNT-TRAK", True, "Mount is tracking"),
        ("PIERSIDE", "Look East" if look_east else "Look West",
         "Pier on West side" if look_east else "Pier on  East side"),
        ("IMGFLIP", not look_east, "Is flipped"),
        ("HACORR", 0.0, "[deg] Hour angle correction"),
        ("DECCORR", 0.0, "[deg] Declination correction"),
        ("OTA", "Main", ""),
        ("SELECTEL", "tel1", "Nominted OTA for pointing"),
        ("ROTATOR", "rotator", "Rotator name"),
        ("ROTANGLE", 0.0, "[deg] Rotator angle"),
        ("ROTMOVNG", False, "Rotator is moving"),
        ("FOCUS", "focuser", "Focuser name"),
        ("FOCUSPOS", DEFAULT_FOCUS_POSITION, "[um] Focuser position"),
        ("FOCUSTMP", DEFAULT_FOCUS_TEMPERATURE, "[C] Focuser temperature"),
        ("FOCUSMOV", False, "Focuser is moving"),
        ("PIXSCALE", round(scale, 3), "[arcsec/pixel] Nominal pixel scale on sky"),
        ("DRZPIXSC", round(scale, 3), "Target drizzle scale"),
        ("REQNUM", PLACEHOLDER_ID, "LCO Observation Request number"),
        ("ISMASTER", False, "Is master image"),
        ("FRAMENUM", spec.number, "Running frame number"),
        ("SMARTSTK", stack_id, "ID code for a smart stack group"),
        ("SSTKNUM", stack_index, "0-based index of this frame in its stack"),
        ("SSTKLEN", length, "Number of frames in the smart stack"),
        ("SUBSTACK", False, ""),
        ("PEDESTAL", 0.0, "This value has been added to the data"),
        ("ERRORVAL", 0, ""),
        ("USERNAME", spec.user_name, "Observer name"),
        ("USERID", site_user_id(spec.user_id) if site_style else clean_user_id(spec.user_id),
         "Observer id"),
        ("FILEPATH", f"C:/ptr/{spec.inst}/{observation.day_obs}/to_AWS/", ""),
        ("ORIGNAME", original_name(spec, observation, site_style=site_style), "Original file name"),
        ("RA", ra_hms if site_style else format_ra(observation.ra), "[hms] Telescope right ascension"),
        ("DEC", dec_dms if site_style else format_dec(observation.dec), "[dms] Telescope declination"),
        ("ORIGRA", ra_hms, ""),
        ("ORIGDEC", dec_dms, ""),
        ("RAHRS", round(observation.ra / DEGREES_PER_HOUR, 8), "[hrs] Telescope right ascension"),
        ("RADEG", round(observation.ra, 8), "[deg] Telescope right ascension"),
        ("DECDEG", round(observation.dec, 8), "[deg] Telescope declination"),
        ("TARG-CHK", observation.ra + observation.dec, "[deg] Sum of RA and dec"),
        ("CATNAME", object_name(observation, kind), "Catalog object name"),
        ("CAT-RA", ra_hms, "[hms] Catalog RA of object"),
        ("CAT-DEC", dec_dms, "[dms] Catalog Dec of object"),
        ("OFST-RA", ra_hms, "[hms] Catalog RA of object (for BANZAI only)"),
        ("OFST-DEC", dec_dms, "[dms] Catalog Dec of object"),
        ("TPT-RA", ra_hms, "[hms] Catalog RA of object (for BANZAI only"),
        ("TPT-DEC", dec_dms, "[dms] Catalog Dec of object"),
        ("RA-HMS", ra_hms, ""),
        ("DEC-DMS", dec_dms, ""),
        *wcs_cards(width, height, scale, observation.ra, observation.dec, site_style=site_style),
        ("SITERED", True, "Has this file been reduced at site"),
        # photometry_process.py, which then writes the .txt
        ("IMGSTDEV", round(stats.stdev, 3), "Standard deviation of image array"),
        ("IMGMIN", stats.minimum, "Minimum Value of Image Array"),
        ("IMGMAX", stats.maximum, "Maximum Value of Image Array"),
        ("IMGMEAN", round(stats.mean, 3), "Mean Value of Image Array"),
        ("IMGMODE", stats.mode, "Mode Value of Image Array"),
        ("IMGMED", stats.median, "Median Value of Image Array"),
        ("IMGMAD", stats.mad, "Median Absolute Deviation of Image Array"),
        ("SEPSKY", float(stats.mode - camera.bias_level), "Sky level (image mode above bias)"),
        *_fwhm_cards(stars, camera.pixel_scale, as_text=site_style),
        ("NSTARS", stars.n_stars, "Number of star-like sources in image"),
    ]
    return cards


def _with_default_cards(
    cards: list[tuple[str, object, str]], spec: ExposureSpec, frame: Frame | FrameSketch,
    observation: Observation,
) -> list[tuple[str, object, str]]:
    """The site's keywords plus this tool's earlier ones (kept so nothing that read them breaks)."""
    camera, site = spec.camera, spec.site_profile
    extra: list[tuple[str, object, str]] = [
        ("OBSERVAT", site.name, "Observatory name"),
        ("SITE", site.name, "Site name"),
        ("EQUINOX", 2000.0, "Equinox of the coordinates"),
        ("RADESYS", "ICRS", "Reference frame"),
        ("CCD-TEMP", camera.temperature, "[C] Sensor temperature"),
        ("SET-TEMP", camera.temperature, "[C] Sensor set point"),
        ("XBINNING", 1, "Binning in x"),
        ("YBINNING", 1, "Binning in y"),
    ]
    return cards + extra


def _provenance_keys(
    spec: ExposureSpec, frame: Frame | FrameSketch, measured: FrameMeasures
) -> list[tuple[str, object, str]]:
    keys: list[tuple[str, object, str]] = [
        ("PROGRAM", PROGRAM, "Software that made this frame"),
        ("PROGVER", __version__, "Its version"),
        ("SEED", spec.seed, "Frame seed: make_frame(spec, camera, seed) redraws it"),
        ("SYNTHVER", int(frame.params.get("synth_version", 0)), "Pixel synthesis version"),
        ("MEASURED", MEASURED_PREDICTED if measured.predicted else MEASURED_FROM_PIXELS,
         "IMG*, SEPSKY, FWHM*, NSTARS: from pixels or predicted"),
    ]
    if spec.frame.field_seed is not None:
        keys.append(("FIELDSD", spec.frame.field_seed, "Star-field seed shared by a smartstack"))
    if frame.params.get("stars") == "catalogue":
        keys += catalogue.header_cards()
    return keys


def _star_stats(spec: ExposureSpec, frame: Frame, stats: ImageStats) -> StarStats:
    camera = spec.camera
    return star_statistics(
        frame.pixels, frame.truth, pixel_scale=camera.pixel_scale,
        expected_fwhm=spec.frame.seeing_fwhm / camera.pixel_scale,
        sky_sigma=MAD_TO_SIGMA * stats.mad, saturation=camera.saturation,
        bias_level=camera.bias_level,
    )


def _fwhm_cards(stars: StarStats, scale: float, *, as_text: bool) -> list[tuple[str, object, str]]:
    """FWHM in pixels and arcsec; the site writes them as text (`str(rfp)`), -99 if unmeasured."""
    def value(number: float) -> object:
        if number == NOT_MEASURED:
            return NOT_MEASURED
        rounded = round(number, 4)
        return str(rounded) if as_text else rounded

    return [
        ("FWHM", value(stars.fwhm_pixels), "FWHM in pixels"),
        ("FWHMPIX", value(stars.fwhm_pixels), "FWHM in pixels"),
        ("FWHMASEC", value(stars.fwhm_arcsec), "FWHM in arcseconds"),
        ("FWHMSTD", value(stars.fwhm_std), "FWHM standard deviation in arcseconds"),
    ]


def original_name(spec: ExposureSpec, observation: Observation, *, site_style: bool) -> str:
    """ORIGNAME: the site's raw archive name,
    `{obs}-{camera}_{frame type}_{filter}-{day}-{seq}-EX00.fits.fz`; by default this tool's
    earlier `{base}-{TT}00.fits`."""
    if site_style:
        return (f"{spec.site}-{spec.inst}_{FRAME_TYPE[spec.frame.kind]}_{spec.frame.filter}"
                f"-{observation.day_obs}-{spec.number:08d}-{spec.data_type}00.fits.fz")
    return str(FileName(
        site=spec.site, inst=spec.inst, date=observation.day_obs, number=spec.number,
        data_type=spec.data_type, level="00", ext="fits",
    ))


def format_l1pubdat(when: dt.datetime) -> str:
    """L1PUBDAT as the site writes it: `%Y-%m-%dT%H:%M:%S.%fZ`, a day before the frame."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_ra_site(ra: float) -> str:
    """RA as SkyCoord.to_string('hmsdms') gives it (the site's RA card): `00h42m44.3299992s`."""
    return Angle(ra, unit="deg").to_string(unit="hourangle", sep="hms", pad=True)


def format_dec_site(dec: float) -> str:
    """Dec as SkyCoord.to_string('hmsdms') gives it: `+41d16m08.4s`."""
    return Angle(dec, unit="deg").to_string(unit="deg", sep="dms", alwayssign=True, pad=True)


def site_user_id(user_id: str) -> str:
    """USERID as ptr-observatory writes it: `-` and `|` removed, `@` spelled `at`."""
    return user_id.translate(SITE_USERID_REPLACED)


def _plain_id(code: str) -> str:
    """OBSID/TELID/PTRTEL: the site code without `-` or `_`, as the site writes them."""
    return code.replace("-", "").replace("_", "")


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
