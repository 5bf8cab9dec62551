"""Where Photon Ranch file names are made, checked and taken apart.

The name *is* the data model on the real service: ingestion derives site, camera, night,
file number, data type and reduction level from it and silently drops what does not parse,
so a wrong name here means an upload that succeeds and then vanishes. Rules: protocol page §2.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, replace

from send_test_images.errors import InvalidName

MAX_BASE_LENGTH = 29
"""The documented width of the base_filename database column."""

MAX_FILE_NUMBER = 99_999_999

LEVELS = ("00", "01", "10", "11", "13", "20")
"""Reduction levels the service knows: 00/01 large FITS, 10/13 small FITS or medium JPG,
11 thumbnail JPG, 20 full-size JPG."""

EXTENSIONS = ("txt", "jpg", "fits", "fits.fz", "fits.bz2")

_SITE = re.compile(r"[A-Za-z0-9]{3,6}")
_INST = re.compile(r"[A-Za-z0-9_]{1,16}")
_DATA_TYPE = re.compile(r"[A-Za-z]{1,2}")
_NAME = re.compile(
    r"(?P<site>[^-./]+)-(?P<inst>[^-./]+)-(?P<date>\d{8})-(?P<number>\d{8})"
    r"-(?P<data_type>[A-Za-z]+)(?P<level>\d{2})\.(?P<ext>[A-Za-z0-9.]+)"
)


def check_site(site: str) -> str:
    """Return `site` if it is a valid site code, else raise InvalidName saying what is allowed."""
    if not isinstance(site, str) or not _SITE.fullmatch(site):
        raise InvalidName(f"site {site!r} is not allowed: use 3 to 6 letters or digits (no '-')")
    return site


def check_inst(inst: str) -> str:
    """Return `inst` if it is a valid instrument (camera) name."""
    if not isinstance(inst, str) or not _INST.fullmatch(inst):
        raise InvalidName(
            f"instrument {inst!r} is not allowed: use 1 to 16 letters, digits or '_' (no '-')"
        )
    return inst


def check_data_type(data_type: str) -> str:
    """Return `data_type` if it is 1 or 2 letters (the service also accepts lower-case `e`)."""
    if not isinstance(data_type, str) or not _DATA_TYPE.fullmatch(data_type):
        raise InvalidName(
            f"data type {data_type!r} is not allowed: use 1 or 2 letters (EX, EP, EF, E)"
        )
    return data_type


def normalize_data_type(data_type: str) -> str:
    """Uppercase a data type given on the command line (`e` -> `E`), as the original script did."""
    return check_data_type(data_type).upper()


def check_number(number: int) -> int:
    """Return `number` if it fits the 8-digit file-number field."""
    is_int = isinstance(number, int) and not isinstance(number, bool)
    if not is_int or not 0 <= number <= MAX_FILE_NUMBER:
        raise InvalidName(f"file number {number!r} is not allowed: use 0 to {MAX_FILE_NUMBER}")
    return number


def check_date(date: str) -> str:
    """Return `date` if it is a real calendar date written YYYYMMDD."""
    if isinstance(date, str) and _real_date(date):
        return date
    raise InvalidName(f"date {date!r} is not allowed: use a real date as YYYYMMDD")


@functools.lru_cache(maxsize=1024)
def _real_date(date: str) -> bool:
    """Cached: every file of a night carries the same date, and strptime costs ~10 us a name
    on the local site's per-file path (API and ingestion)."""
    if not re.fullmatch(r"\d{8}", date):
        return False
    try:
        dt.datetime.strptime(date, "%Y%m%d")
    except ValueError:
        return False
    return True


def check_level(level: str) -> str:
    if level not in LEVELS:
        allowed = ", ".join(LEVELS)
        raise InvalidName(f"reduction level {level!r} is not allowed: use one of {allowed}")
    return level


def check_extension(ext: str) -> str:
    if ext not in EXTENSIONS:
        raise InvalidName(f"extension {ext!r} is not allowed: use one of {', '.join(EXTENSIONS)}")
    return ext


def file_kind(ext: str) -> str:
    """The service's view of an extension: `fits.fz` and `fits.bz2` both count as `fits`."""
    return check_extension(ext).split(".", 1)[0]


def make_base(site: str, inst: str, date: str, number: int) -> str:
    """`{site}-{inst}-{YYYYMMDD}-{NNNNNNNN}`: the image's identity on Photon Ranch."""
    base = f"{check_site(site)}-{check_inst(inst)}-{check_date(date)}-{check_number(number):08d}"
    if len(base) > MAX_BASE_LENGTH:
        raise InvalidName(
            f"base filename {base!r} is {len(base)} characters: at most {MAX_BASE_LENGTH} are "
            "allowed, so shorten the site or instrument name"
        )
    return base


@dataclass(frozen=True)
class FileName:
    """One file of one exposure, e.g. `tst-inst-20261124-00000042-EX10.jpg`."""

    site: str
    inst: str
    date: str
    number: int
    data_type: str
    level: str
    ext: str

    def __post_init__(self) -> None:
        make_base(self.site, self.inst, self.date, self.number)
        check_data_type(self.data_type)
        check_level(self.level)
        check_extension(self.ext)

    @property
    def base(self) -> str:
        return make_base(self.site, self.inst, self.date, self.number)

    @property
    def kind(self) -> str:
        """`txt`, `jpg` or `fits`."""
        return file_kind(self.ext)

    def with_(self, **changes: object) -> FileName:
        """A sibling name: the same exposure at another level or extension."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.base}-{self.data_type}{self.level}.{self.ext}"


def parse(name: str) -> FileName:
    """Take a bare file name apart, or raise InvalidName saying which rule it breaks."""
    if not isinstance(name, str):
        raise InvalidName(f"file name {name!r} is not a string")
    match = _NAME.fullmatch(name)
    if match is None:
        raise InvalidName(
            f"file name {name!r} is not allowed: use "
            "{site}-{inst}-{YYYYMMDD}-{NNNNNNNN}-{TT}{RR}.{ext}, "
            "e.g. tst-inst-20261124-00000001-EX10.jpg"
        )
    parts = match.groupdict()
    try:
        return FileName(
            site=parts["site"],
            inst=parts["inst"],
            date=parts["date"],
            number=int(parts["number"]),
            data_type=parts["data_type"],
            level=parts["level"],
            ext=parts["ext"],
        )
    except InvalidName as exc:
        raise InvalidName(f"file name {name!r} is not allowed: {exc}") from None
