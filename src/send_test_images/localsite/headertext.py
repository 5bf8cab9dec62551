"""Read a `.txt` header the way Photon Ranch ingestion reads it (protocol page §3).

The real service does not use a FITS parser: it cuts the text into 80-byte cards and applies a
few string rules. Reproducing those rules (including their quirks, such as a value written with
its own quotes reading back as empty) is the point, so that a header that looks fine locally but
would be mangled on the real site is mangled here too.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

CARD_LENGTH = 80
KEY_LENGTH = 8
VALUE_START = 10
"""Columns 9-10 hold the value indicator `= `; the value part starts after it."""
MAX_HEADER_CARDS = 13_107
MAX_HEADER_BYTES = MAX_HEADER_CARDS * CARD_LENGTH
"""How much of a `.txt` header ingestion reads: 1 MiB rounded down to whole cards (1,048,560
bytes). A real header is ~180 cards (~14 KB), so this leaves 70 times the room, while a hostile or
mistaken upload (an 80 MB "header" made the page's JSON take 2-3 s and `POST /upload` up to 5 s,
because the whole text was parsed, stored and parsed again on every poll) costs at most this
much. The cards that fit are ingested; the rest is never downloaded."""
END_KEY = "END"
QUOTE = "'"
COMMENT_SEPARATOR = "/"

RA_KEYS = ("CRVAL1", "RAHRS")
"""Where the RA comes from, in order of preference: CRVAL1 (degrees), else RAHRS (hours). The
value is stored as the card gives it, unconverted, as the real ingestion does
(`update_header_data`, LCOGT/ptr_data `lambda_service/db.py`): the API answers CRVAL1 in degrees
and the web UI divides by 15; an old header with only RAHRS reads as hours there too."""

DEC_KEYS = ("CRVAL2", "DEC")
NUMBER_KEYS = ("EXPTIME", "ALTITUDE", "AZIMUTH", "AIRMASS")
"""Cards the real ingestion writes into float columns (`update_header_data`): PostgreSQL must read
each as a number, or the whole header update fails and the image keeps no header."""
DATE_OBS = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
    r"(?:\s*(?:Z|[+-]\d{2}(?::?\d{2})?))?"
)
"""DATE-OBS as PostgreSQL reads it into a `timestamp`: the real ingestion replaces every `T` with a
space and hands the text over, so a date alone, a time without seconds, any number of fraction
digits, and a zone (ignored by a timestamp without time zone) are all accepted."""
SQL_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|infinity|nan)", re.IGNORECASE)
"""Text PostgreSQL's float8 input reads (surrounding spaces aside): decimal, exponent, and the
special values; no `_`, no non-ASCII digits, which Python's float() would take."""


def parse_header_text(text: str) -> dict[str, str]:
    """Cards to a dict of strings, as `scan_header_file` (LCOGT/ptr_data `helpers.py`) reads them.

    Key = first 8 characters stripped, value by the quote rule from columns 11 to 79 (the real
    code slices `[10:-1]`, so the 80th character never counts). Every card is kept, a blank key
    (`''`) and `END` (value `''`) included, and a later card with the same key wins, as in a
    dict filled card by card. Reading stops after the `END` card; a missing END just means
    reading to the end of the text. At most `MAX_HEADER_BYTES` of the text are read.
    """
    header: dict[str, str] = {}
    for start in range(0, min(len(text), MAX_HEADER_BYTES), CARD_LENGTH):
        card = text[start : start + CARD_LENGTH]
        key = card[:KEY_LENGTH].strip()
        header[key] = _card_value(card[VALUE_START:-1])
        if key == END_KEY:
            break
    return header


def parse_header_bytes(data: bytes) -> dict[str, str] | None:
    """The header of a `.txt`'s bytes, or None where the real service fails to read it.

    The real code decodes each 80-byte card as UTF-8 on its own, outside its error handling, so
    one card that is not UTF-8 (or a character cut in two by a card boundary) fails the whole
    ingestion and the image keeps no header.
    """
    data = data[:MAX_HEADER_BYTES]
    if data.isascii():  # every card decodes on its own and is 80 characters: one decode will do
        return parse_header_text(data.decode("ascii"))
    try:
        cards = [data[i : i + CARD_LENGTH].decode("utf-8") for i in range(0, len(data), CARD_LENGTH)]
    except UnicodeDecodeError:
        return None
    return parse_header_text("".join(cards)) if all(len(c) == CARD_LENGTH for c in cards[:-1]) else None


def _card_value(value_part: str) -> str:
    """Between the first two quotes if the part before any `/` holds a quote, else before `/`.

    Values are stripped, so astropy's padded `'L       '` reads as `L`; a value written with its
    own quotes (`"'L'"`, which astropy stores as three quotes each side) reads as empty, as on
    the real service.
    """
    before_comment = value_part.split(COMMENT_SEPARATOR, 1)[0]
    if QUOTE in before_comment:
        return value_part.split(QUOTE, 2)[1].strip()
    return before_comment.strip()


@dataclass(frozen=True)
class Pointing:
    """What ingestion must find in a header before it creates a row."""

    date_obs: dt.datetime
    """UTC, timezone-aware."""
    right_ascension: float
    """As the card gave it: CRVAL1 in degrees, or RAHRS (hours) when there is no CRVAL1."""
    dec_degrees: float


def required_fields(header: dict[str, str]) -> Pointing | None:
    """DATE-OBS plus an RA (CRVAL1 or RAHRS) plus a Dec (CRVAL2 or DEC), else None.

    The service stores the RA card's value unconverted (see `RA_KEYS`).

    None also wherever the real ingestion fails on the header (`update_header_data`), so the
    image keeps no header here either: the first RA or Dec card that is present is used (a
    CRVAL1 that is there but not a number is not passed over for RAHRS), and it, DATE-OBS and
    every card of `NUMBER_KEYS` that is present must read as PostgreSQL reads them.
    The one deliberate difference: a non-finite number (`inf`, `nan`) counts as a missing card
    (see `to_float`), so CRVAL1 = inf falls back to RAHRS instead of storing Infinity.
    """
    date_obs = parse_date_obs(header.get("DATE-OBS", ""))
    ra = _first_float(header, RA_KEYS)
    dec = _first_float(header, DEC_KEYS)
    numbers_read = all(is_sql_number(header[key]) for key in NUMBER_KEYS if key in header)
    if date_obs is None or ra is None or dec is None or not numbers_read:
        return None
    return Pointing(date_obs=date_obs, right_ascension=ra[1], dec_degrees=dec[1])


def is_sql_number(value: str) -> bool:
    """True if PostgreSQL reads `value` into a float column (`SQL_NUMBER`)."""
    return SQL_NUMBER.fullmatch(value.strip()) is not None


def _first_float(header: dict[str, str], keys: tuple[str, ...]) -> tuple[str, float] | None:
    """The first of `keys` present in the header, as a finite number; None if it is not one."""
    for key in keys:
        if key not in header:
            continue
        if not is_sql_number(header[key]):
            return None
        value = to_float(header[key])
        if value is not None:
            return key, value
    return None


def to_float(value: str | None) -> float | None:
    """A header string as a finite number, or None when it is missing, empty, not numeric, or
    not finite (`inf`, `nan`, `1e400`, which Python reads as infinity).

    Why None for a non-finite value: every number the service reads from a header ends up in a
    JSON answer (`latest_images`, `/image`, the page), and JSON has no NaN or Infinity, so a
    stored `inf` made every listing of the site fail. A real site never writes one (astropy
    refuses to write NaN or Infinity into a card), so there is no real answer to imitate; the
    nearest honest one is what the service shows for a card that is not there: null. The card's
    text itself is kept, as a string, in the stored header (`/fitsheader`), so nothing is hidden.
    A non-finite RA or Dec is likewise treated as missing, so such a header is not ingested,
    exactly like one without those cards.
    """
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse_date_obs(value: str) -> dt.datetime | None:
    """DATE-OBS as an aware UTC datetime the way PostgreSQL reads it (`DATE_OBS`), else None."""
    match = DATE_OBS.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups()[:6])
    micro = int((match.group(7) or "0")[:6].ljust(6, "0"))
    try:
        return dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=dt.UTC)
    except ValueError:
        return None
