"""Read a `.txt` header the way Photon Ranch ingestion reads it (protocol page §3).

The real service does not use a FITS parser: it cuts the text into 80-byte cards and applies a
few string rules. Reproducing those rules (including their quirks, such as a value written with
its own quotes reading back as empty) is the point, so that a header that looks fine locally but
would be mangled on the real site is mangled here too.
"""

from __future__ import annotations

import datetime as dt
import math
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
DATE_OBS_FORMATS = ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S")


def parse_header_text(text: str) -> dict[str, str]:
    """Cards to a dict of strings: key = first 8 characters stripped, value by the quote rule.

    A later card with the same key wins, as it does in a dict filled card by card. Reading stops
    at the `END` card; a missing END just means reading to the end of the text. At most
    `MAX_HEADER_BYTES` of the text are read, whatever the caller passes.
    """
    header: dict[str, str] = {}
    for start in range(0, min(len(text), MAX_HEADER_BYTES), CARD_LENGTH):
        card = text[start : start + CARD_LENGTH]
        key = card[:KEY_LENGTH].strip()
        if key == END_KEY:
            break
        if not key:
            continue
        header[key] = _card_value(card[VALUE_START:])
    return header


def _card_value(value_part: str) -> str:
    """Between the first two quotes if the part before any `/` holds a quote, else before `/`.

    Values are stripped, so astropy's padded `'L       '` reads as `L`; a value written with its
    own quotes (`"'L'"`, which astropy stores as three quotes each side) reads as empty, as on
    the real service.
    """
    if QUOTE in value_part.split(COMMENT_SEPARATOR, 1)[0]:
        return value_part.split(QUOTE)[1].strip()
    return value_part.split(COMMENT_SEPARATOR, 1)[0].strip()


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
    """
    date_obs = parse_date_obs(header.get("DATE-OBS", ""))
    ra = _first_float(header, RA_KEYS)
    dec = _first_float(header, DEC_KEYS)
    if date_obs is None or ra is None or dec is None:
        return None
    return Pointing(date_obs=date_obs, right_ascension=ra[1], dec_degrees=dec[1])


def _first_float(header: dict[str, str], keys: tuple[str, ...]) -> tuple[str, float] | None:
    for key in keys:
        value = to_float(header.get(key))
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
    """`YYYY-MM-DDTHH:MM:SS[.sss]` as an aware UTC datetime, or None if it is not that."""
    for fmt in DATE_OBS_FORMATS:
        try:
            return dt.datetime.strptime(value.strip(), fmt).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
    return None
