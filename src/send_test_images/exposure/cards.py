"""80-character header cards written directly, the way astropy lays them out.

A header has ~270 cards now (the real site's ~175 keywords plus the provenance). Building each
as an `astropy.io.fits.Card` cost ~20 us, most of it astropy reading its configuration for
every attribute set: 5 ms per frame, a quarter of a 768² exposure's whole budget. These
functions write the same images (FITS fixed format: keyword in columns 1-8, `= `, numbers and
logicals right-aligned to column 30, strings quoted and at least 8 characters, ` / comment`
cut to fit) for the only value types a header of ours holds: str, bool, int, float. A test
holds them equal to astropy's; `fits.Header.fromstring` of the joined images reads them back.
"""

from __future__ import annotations

import numpy as np

CARD_LENGTH = 80
KEYWORD_LENGTH = 8
VALUE_INDICATOR = "= "
COMMENT_SEPARATOR = " / "
FIXED_WIDTH = 20
MIN_STRING = 8
FLOAT_WIDTH = 20
BLOCK = 2880
END = "END".ljust(CARD_LENGTH)


def card_image(keyword: str, value: object, comment: str = "") -> str:
    """The 80-character card `keyword = value / comment`; a comment that does not fit is cut."""
    if len(keyword) > KEYWORD_LENGTH:
        raise ValueError(f"keyword {keyword!r} is longer than {KEYWORD_LENGTH} characters")
    text = f"{keyword.upper():{KEYWORD_LENGTH}}{VALUE_INDICATOR}{format_value(value)}"
    if len(text) > CARD_LENGTH:
        raise ValueError(f"value of {keyword!r} does not fit one card")
    room = CARD_LENGTH - len(text) - len(COMMENT_SEPARATOR)
    if comment and room > 0:
        text += COMMENT_SEPARATOR + comment[:room]
    return f"{text:{CARD_LENGTH}}"


def history_image(text: str) -> str:
    """A HISTORY card holding `text` (at most 72 characters)."""
    if len(text) > CARD_LENGTH - KEYWORD_LENGTH:
        raise ValueError(f"history text {text!r} is longer than {CARD_LENGTH - KEYWORD_LENGTH}")
    return f"{'HISTORY':{KEYWORD_LENGTH}}{text:{CARD_LENGTH - KEYWORD_LENGTH}}"


def format_value(value: object) -> str:
    """The value field as astropy writes it (astropy.io.fits.card._format_value)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        if value == "":
            return "''"
        quoted = "'" + f"{value.replace(chr(39), chr(39) * 2):{MIN_STRING}}" + "'"
        return f"{quoted:{FIXED_WIDTH}}"
    if isinstance(value, bool):
        return f"{'T' if value else 'F':>{FIXED_WIDTH}}"
    if isinstance(value, int):
        return f"{value:>{FIXED_WIDTH}d}"
    if isinstance(value, float):
        return f"{format_float(value):>{FIXED_WIDTH}}"
    raise TypeError(f"header value {value!r} of type {type(value).__name__} is not allowed")


def format_float(value: float) -> str:
    """Python's shortest repr, `E` for `e`, cut to 20 characters (astropy's _format_float)."""
    text = str(value).replace("e", "E")
    if len(text) > FLOAT_WIDTH:
        at = text.find("E")
        text = text[:FLOAT_WIDTH] if at < 0 else text[: FLOAT_WIDTH - (len(text) - at)] + text[at:]
    return text


def header_block(images: list[str]) -> str:
    """Card images, END, padded with blanks to a whole 2880-byte block: the `.txt`'s text."""
    text = "".join(images) + END
    return text + " " * (-len(text) % BLOCK)
