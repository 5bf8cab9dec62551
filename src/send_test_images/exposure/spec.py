"""What one exposure is: `ExposureSpec`, checked completely when it is made.

A bad value fails here, before any pixel is drawn, with a message naming the value and what is
allowed. The header, the products and the plan all read a spec and none of them is imported
here, so the spec sits below them all (it used to live in products.py, which header.py then
had to import back).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field

from send_test_images import defaults
from send_test_images.errors import UsageError
from send_test_images.exposure.fitsfiles import check_fits_format
from send_test_images.exposure.naming import check_data_type, check_inst, check_number, check_site
from send_test_images.exposure.observation import check_radec, to_utc
from send_test_images.exposure.options import MAX_SEED, draws_pixels
from send_test_images.exposure.presets import Preset
from send_test_images.exposure.profiles import CameraProfile, SiteProfile, get_camera, get_site
from send_test_images.exposure.synth import FrameSpec
from send_test_images.exposure.synth.spec import check_spec

FILE_LETTERS = "hjtfF"
"""h header .txt (00), j preview 10.jpg, t thumbnail 11.jpg, f small FITS (10), F large FITS (00)."""

DEFAULT_FILES = defaults.FILES
DEFAULT_DATA_TYPE = defaults.DATA_TYPE.upper()
"""The command line's `e`, uppercased as names carry it: a spec made by hand names files as `up` does."""
DEFAULT_FITS_FORMAT = defaults.FITS_FORMAT
DEFAULT_USER_NAME = defaults.USER
DEFAULT_USER_ID = defaults.USER

MAX_HEADER_STRING = 68
"""Longest string value that fits one card; longer ones need CONTINUE cards, which the
service's reading rule (protocol §3) would cut short."""


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
    preset: Preset | None = None  # `--like`: the real site whose files, names and header to copy

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
        if self.preset is not None and not isinstance(self.preset, Preset):
            raise UsageError(f"preset {self.preset!r} is not allowed: use a presets.Preset or None")

    @property
    def draws_pixels(self) -> bool:
        """Whether making this exposure draws its frame (options.draws_pixels)."""
        return draws_pixels(self.files, truth=self.truth)

    @property
    def header_style(self) -> str:
        """`site` (the real site's spelling and values) under a preset that says so, else `default`."""
        return self.preset.header_style if self.preset is not None else "default"


def check_files(files: str) -> str:
    """`files` must be letters of hjtfF, each at most once."""
    if not isinstance(files, str) or not files or any(c not in FILE_LETTERS for c in files):
        raise UsageError(f"files {files!r} is not allowed: use letters from {FILE_LETTERS}")
    if len(set(files)) != len(files):
        raise UsageError(f"files {files!r} is not allowed: name each letter of hjtfF once")
    return files


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
