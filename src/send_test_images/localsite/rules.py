"""The rules of the real Photon Ranch service, as plain functions and constants (protocol §1-§4).

Kept apart from the machinery that applies them (the ingestion thread, the expiry sweeper, the
HTTP handlers), so a rule is read, tested and changed in one place, and a module that only needs
a rule, such as the input checks, does not import threads, S3 clients or SQLite to get it. Nothing
here does I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from send_test_images.exposure import naming
from send_test_images.localsite import headertext

DEFAULT_S3_DIRECTORY = "data"
"""Where an upload goes when its body names no `s3_directory`."""
INFO_DIRECTORY = "info-images"
INGESTED_DIRECTORIES = (DEFAULT_S3_DIRECTORY, INFO_DIRECTORY)
STORED_ONLY_DIRECTORIES = ("allsky", "test")
S3_DIRECTORIES = (*INGESTED_DIRECTORIES, *STORED_ONLY_DIRECTORIES)
"""The only directories the service presigns for; `allsky/` and `test/` are stored, not ingested."""

INFO_CHANNELS = (1, 2, 3)
DEFAULT_INFO_CHANNEL = 1
"""The channel an `info-images` upload goes on when its body names none."""

THUMBNAIL_HEIGHT = 128
"""The real service makes the 11.jpg thumbnail itself, this many pixels high."""
THUMBNAIL_SOURCE_LEVEL = "10"
THUMBNAIL_LEVEL = "11"
MEDIUM_LEVELS = ("10", "13")
LARGE_FITS_LEVELS = ("00", "01")

TEST_SITE = "tst"
SHORT_LIVED_TEST_SECONDS = 300.0
SECONDS_PER_DAY = 86_400.0
EXPIRY_ELSEWHERE = {"EP": 7 * SECONDS_PER_DAY, "EF": 1 * SECONDS_PER_DAY}
"""Experimental (EP) and focus (EF) images expire; at site `tst` after 300 s (protocol §2)."""


def split_key(key: str) -> tuple[str, str] | None:
    """`data/name.jpg` -> ("data", "name.jpg"); keys outside the four directories -> None."""
    directory, sep, name = key.partition("/")
    if not sep or directory not in S3_DIRECTORIES or not name or "/" in name:
        return None
    return directory, name


def expire_timestamp(name: naming.FileName, uploaded_s: float) -> float | None:
    """When the real service would delete this image: EP/EF only, shortest at site `tst`."""
    data_type = name.data_type.upper()
    if data_type not in EXPIRY_ELSEWHERE:
        return None
    if name.site == TEST_SITE:
        return uploaded_s + SHORT_LIVED_TEST_SECONDS
    return uploaded_s + EXPIRY_ELSEWHERE[data_type]


def makes_thumbnail(name: naming.FileName) -> bool:
    """True for the file the service derives the 11.jpg from (the 10.jpg)."""
    return name.kind == "jpg" and name.level == THUMBNAIL_SOURCE_LEVEL


def file_flag(name: naming.FileName) -> str | None:
    """The `*_exists` column a landed jpg or fits file sets on its exposure's row, if any."""
    if name.kind == "jpg" and name.level in MEDIUM_LEVELS:
        return "jpg_medium_exists"
    if name.kind == "jpg" and name.level == THUMBNAIL_LEVEL:
        return "jpg_small_exists"
    if name.kind == "fits" and name.level in LARGE_FITS_LEVELS:
        return "fits_01_exists"
    if name.kind == "fits" and name.level in MEDIUM_LEVELS:
        return "fits_10_exists"
    return None


def header_values(
    header: dict[str, str], pointing: headertext.Pointing, data_type: str
) -> dict[str, Any]:
    """The row's columns from a parsed header (all header values arrive as strings)."""
    return {
        "data_type": data_type,
        "capture_date": pointing.date_obs.timestamp(),
        "exposure_time": headertext.to_float(header.get("EXPTIME")),
        "filter_used": header.get("FILTER"),
        "right_ascension": pointing.right_ascension,
        "declination": pointing.dec_degrees,
        "azimuth": headertext.to_float(header.get("AZIMUTH")),
        "altitude": headertext.to_float(header.get("ALTITUDE")),
        "airmass": headertext.to_float(header.get("AIRMASS")),
        "username": header.get("USERNAME"),
        "user_id": header.get("USERID"),
    }


def info_image_place(object_name: str) -> tuple[str, str]:
    """(site, base filename) an `info-images` upload is put on its channel under (protocol §1).

    Recorded when the upload is presigned, before anything lands, so the name is cut as text
    rather than parsed: whether it becomes an image is ingestion's decision, later.
    """
    site = object_name.split("-", 1)[0]
    base = object_name.split(".", 1)[0].rsplit("-", 1)[0]
    return site, base


# --- file numbers (the local site's own service) ---------------------------------------------------

DATA_KEY_NUMBER_OFFSET = len("YYYYMMDD-")
"""After `data/{site}-{inst}-`, the 8-digit file number follows the date and its dash."""


def next_numbers(count: int, *, after: int, reserved: int, stored: int) -> range | None:
    """The numbers a sender gets: after everything anyone reserved, stored or already knows.

    `after` is the caller's own counter, `reserved` what this site handed out before, `stored` the
    highest number among the camera's stored files (sent by a sender that did not ask, like a real
    site). None when the 8-digit space has no room for `count` more.
    """
    start = max(after, reserved, stored) + 1
    stop = start + count
    return range(start, stop) if stop - 1 <= naming.MAX_FILE_NUMBER else None


def data_key_prefix(site: str, inst: str) -> str:
    """Every stored `data/` key of one camera starts so; its number sits at a fixed offset after."""
    return f"{DEFAULT_S3_DIRECTORY}/{site}-{inst}-"


QUERY_DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?)?(?:([Zz])|([+-])(\d{2}):(\d{2}))?"
)
"""What `filtered_images` dates may look like. The real query hands the text to PostgreSQL to
compare with a `timestamp` column, which reads a date, a date and time with a space or `T`,
fractions, and an offset (dropped for a timestamp without time zone); the UI sends
`YYYY-MM-DD HH:MM:SS`."""


def parse_query_date(value: str) -> float | None:
    """A `start_date`/`end_date` as UTC seconds (an offset is ignored, as PostgreSQL ignores it
    for a `timestamp without time zone`), or None if it is not a date."""
    match = QUERY_DATE.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups()[:6])
    try:
        return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC).timestamp()
    except ValueError:
        return None


def like_to_glob(pattern: str) -> str:
    """A PostgreSQL LIKE pattern (`%`, `_`, backslash escapes; case-sensitive) as an SQLite GLOB.

    `filtered_images` filters with `base_filename.like(filename)`; SQLite's own LIKE ignores case,
    GLOB does not, so the pattern is translated rather than passed on.
    """
    out: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            escaped = next(chars, "\\")
            out.append(_glob_literal(escaped))
        elif char == "%":
            out.append("*")
        elif char == "_":
            out.append("?")
        else:
            out.append(_glob_literal(char))
    return "".join(out)


def _glob_literal(char: str) -> str:
    return f"[{char}]" if char in "*?[]" else char
