"""One exposure -> the files a site uploads for it, in the order it uploads them.

A spec is checked completely when it is made (ExposureSpec.__post_init__), so a bad value fails
before any pixel is drawn, with a message naming the value and what is allowed. After that,
`make_products` is pure apart from CPU: the same spec gives the same bytes, because the time,
the seed and the pointing are all fixed in the spec.

Upload order: the header `.txt` first (the service ingests it to create the image record), then
the JPGs (an image is listed once its `…10.jpg` exists), then the FITS files, small before large.

The truth catalogue of injected stars is *not* an upload: `make_exposure(spec).truth` holds it
(an ECSV file and its local file name) when `spec.truth` is set, and `make_products` returns only
what goes to Photon Ranch.
"""

from __future__ import annotations

import datetime as dt
import io
import secrets
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from send_test_images.errors import UsageError
from send_test_images.exposure.fitsfiles import EXTENSIONS, bin_frame, check_fits_format, fits_bytes, small_bin_factor
from send_test_images.exposure.header import header_text, make_header
from send_test_images.exposure.naming import FileName, check_data_type, check_inst, check_number, check_site
from send_test_images.exposure.observation import Observation, check_radec, make_observation, to_utc
from send_test_images.exposure.preview import jpeg_bytes, make_preview, make_thumbnail
from send_test_images.exposure.profiles import CameraProfile, SiteProfile, get_camera, get_site
from send_test_images.exposure.synth import Frame, FrameSpec, make_frame
from send_test_images.exposure.synth.spec import check_spec

FILE_LETTERS = "hjtfF"
"""h header .txt (00), j preview 10.jpg, t thumbnail 11.jpg, f small FITS (10), F large FITS (00)."""

DEFAULT_FILES = "hj"
"""What a real site uploads to `data/` for every exposure today (protocol §6)."""

DEFAULT_DATA_TYPE = "EX"
DEFAULT_FITS_FORMAT = "fz"
DEFAULT_USER_NAME = "send-test-images"
DEFAULT_USER_ID = "send-test-images"

MAX_HEADER_STRING = 68
"""Longest string value that fits one card; longer ones need CONTINUE cards, which the
service's reading rule (protocol §3) would cut short."""

MAX_SEED = 2**63 - 1

LARGE_LEVEL = "00"
SMALL_LEVEL = "10"
THUMBNAIL_LEVEL = "11"

TRUTH_SUFFIX = "-truth.ecsv"
"""Local file name of the truth catalogue: the base filename plus this (never uploaded)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _random_seed() -> int:
    return secrets.randbits(32)


@dataclass(frozen=True)
class ExposureSpec:
    """Everything that decides an exposure's files. `site_profile=None` means get_site(site).

    `smartstack` is (stack id, 0-based index, length) for a smartstack sub-frame, or None.
    `ra`/`dec` (degrees) fix the pointing; without them a random pointing above 30° altitude is
    drawn from `seed`. `date_obs` must be timezone-aware; it is kept in UTC.
    """

    site: str
    inst: str
    number: int
    data_type: str = DEFAULT_DATA_TYPE
    files: str = DEFAULT_FILES
    date_obs: dt.datetime = field(default_factory=_now)
    camera: CameraProfile = field(default_factory=get_camera)
    site_profile: SiteProfile | None = None
    frame: FrameSpec = field(default_factory=FrameSpec)
    seed: int = field(default_factory=_random_seed)
    smartstack: tuple[str, int, int] | None = None
    user_name: str = DEFAULT_USER_NAME
    user_id: str = DEFAULT_USER_ID
    fits_format: str = DEFAULT_FITS_FORMAT
    truth: bool = False
    ra: float | None = None
    dec: float | None = None

    def __post_init__(self) -> None:
        check_site(self.site)
        check_inst(self.inst)
        check_number(self.number)
        check_data_type(self.data_type)
        check_files(self.files)
        check_fits_format(self.fits_format)
        object.__setattr__(self, "date_obs", to_utc(self.date_obs))
        if self.site_profile is None:
            object.__setattr__(self, "site_profile", get_site(self.site))
        if not isinstance(self.site_profile, SiteProfile):
            raise UsageError(
                f"site profile {self.site_profile!r} is not allowed: use a profiles.SiteProfile"
            )
        check_spec(self.frame, self.camera)
        _check_seed(self.seed)
        _check_smartstack(self.smartstack)
        _check_header_string("user name", self.user_name)
        _check_header_string("user id", self.user_id)
        if (self.ra is None) != (self.dec is None):
            raise UsageError("pointing needs both ra and dec, or neither for a random pointing")
        if self.ra is not None and self.dec is not None:
            check_radec(self.ra, self.dec)
        if not isinstance(self.truth, bool):
            raise UsageError(f"truth {self.truth!r} is not allowed: use True or False")


@dataclass(frozen=True)
class Product:
    """One file to upload: its Photon Ranch name and exactly the bytes to send."""

    name: FileName
    data: bytes


@dataclass(frozen=True)
class TruthFile:
    """The injected stars (x, y 0-based pixels; ra, dec degrees; flux, mag, peak, snr, ...)."""

    name: str
    data: bytes
    table: Table


@dataclass(frozen=True)
class Exposure:
    """Everything made for one spec: the uploads and what a test or a user may want besides."""

    products: list[Product]
    header: fits.Header
    observation: Observation
    truth: TruthFile | None


def check_files(files: str) -> str:
    """`files` must be letters of hjtfF, each at most once."""
    if not isinstance(files, str) or not files or any(c not in FILE_LETTERS for c in files):
        raise UsageError(f"files {files!r} is not allowed: use letters from {FILE_LETTERS}")
    if len(set(files)) != len(files):
        raise UsageError(f"files {files!r} is not allowed: name each letter of hjtfF once")
    return files


def make_products(spec: ExposureSpec) -> list[Product]:
    """The files to upload for `spec`, in upload order (txt, jpgs, small FITS, large FITS)."""
    return make_exposure(spec).products


def make_exposure(spec: ExposureSpec) -> Exposure:
    """Draw the frame, write its header, then every requested file; truth only if asked."""
    frame = make_frame(spec.frame, spec.camera, seed=spec.seed)
    observation = make_observation(
        spec.date_obs, spec.site_profile, spec.seed, ra=spec.ra, dec=spec.dec
    )
    header = make_header(spec, frame, observation)
    name = FileName(
        site=spec.site, inst=spec.inst, date=observation.day_obs, number=spec.number,
        data_type=spec.data_type, level=LARGE_LEVEL, ext="txt",
    )
    products: list[Product] = []
    if "h" in spec.files:
        products.append(Product(name, header_text(header)))
    if "j" in spec.files or "t" in spec.files:
        picture = make_preview(frame.pixels, spec.camera.small_size)
        if "j" in spec.files:
            products.append(Product(name.with_(level=SMALL_LEVEL, ext="jpg"), jpeg_bytes(picture)))
        if "t" in spec.files:
            thumbnail = jpeg_bytes(make_thumbnail(picture))
            products.append(Product(name.with_(level=THUMBNAIL_LEVEL, ext="jpg"), thumbnail))
    products.extend(_fits_products(spec, frame, header, name))
    truth = make_truth(frame, header, name.base + TRUTH_SUFFIX) if spec.truth else None
    return Exposure(products=products, header=header, observation=observation, truth=truth)


def _fits_products(
    spec: ExposureSpec, frame: Frame, header: fits.Header, name: FileName
) -> list[Product]:
    """Small (binned) then large FITS; a camera already at preview size writes the file once."""
    ext = EXTENSIONS[spec.fits_format]
    factor = small_bin_factor(frame.pixels.shape, spec.camera.small_size)
    large: bytes | None = None
    out: list[Product] = []
    if "f" in spec.files:
        if factor == 1:  # binning by one changes neither pixels nor header
            large = fits_bytes(frame.pixels, header, spec.fits_format)
            small = large
        else:
            small = fits_bytes(*bin_frame(frame.pixels, header, factor), spec.fits_format)
        out.append(Product(name.with_(level=SMALL_LEVEL, ext=ext), small))
    if "F" in spec.files:
        if large is None:
            large = fits_bytes(frame.pixels, header, spec.fits_format)
        out.append(Product(name.with_(level=LARGE_LEVEL, ext=ext), large))
    return out


def make_truth(frame: Frame, header: fits.Header, name: str) -> TruthFile:
    """The frame's star list with sky positions from the header's WCS, as ECSV."""
    table = Table(frame.truth, copy=True)
    wcs = WCS(_celestial(header))
    x = np.asarray(table["x"], dtype=float) if len(table) else np.zeros(0)
    y = np.asarray(table["y"], dtype=float) if len(table) else np.zeros(0)
    ra, dec = wcs.all_pix2world(x, y, 0)
    table["ra"] = ra
    table["dec"] = dec
    table["ra"].unit = "deg"
    table["dec"].unit = "deg"
    buffer = io.StringIO()
    table.write(buffer, format="ascii.ecsv")
    return TruthFile(name=name, data=buffer.getvalue().encode("utf-8"), table=table)


def _celestial(header: fits.Header) -> fits.Header:
    """Only the WCS cards: astropy.wcs would otherwise 'fix' unrelated keys and warn about it."""
    keys = ("WCSAXES", "CTYPE1", "CTYPE2", "CUNIT1", "CUNIT2", "CRVAL1", "CRVAL2",
            "CRPIX1", "CRPIX2", "CDELT1", "CDELT2", "RADESYS", "EQUINOX")
    return fits.Header([(key, header[key]) for key in keys if key in header])


def _check_seed(seed: int) -> None:
    is_int = isinstance(seed, int) and not isinstance(seed, bool)
    if not is_int or not 0 <= seed <= MAX_SEED:
        raise UsageError(f"seed {seed!r} is not allowed: use an integer from 0 to {MAX_SEED}")


def _check_smartstack(smartstack: tuple[str, int, int] | None) -> None:
    if smartstack is None:
        return
    try:
        stack_id, index, length = smartstack
    except (TypeError, ValueError):
        raise UsageError(
            f"smartstack {smartstack!r} is not allowed: use (stack id, index, length) or None"
        ) from None
    _check_header_string("smartstack id", stack_id)
    if stack_id == "no":
        raise UsageError("smartstack id 'no' is not allowed: it marks a normal frame")
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (index, length))
    if not ints or not 0 <= index < length:
        raise UsageError(
            f"smartstack index {index!r} of length {length!r} is not allowed: "
            "use integers with 0 <= index < length"
        )


def _check_header_string(what: str, value: str) -> None:
    """Plain printable ASCII without quotes, short enough for one card."""
    ok = (
        isinstance(value, str)
        and 0 < len(value) <= MAX_HEADER_STRING
        and value.isascii()
        and value.isprintable()
        and "'" not in value
    )
    if not ok:
        raise UsageError(
            f"{what} {value!r} is not allowed: use 1 to {MAX_HEADER_STRING} printable ASCII "
            "characters without quotes"
        )
