"""Header cards written directly (cards.py) are exactly astropy's, and read back the same."""

from __future__ import annotations

import warnings

import pytest
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

from send_test_images.exposure.cards import card_image, header_block, history_image

VALUES = [
    ("SIMPLE", True, "conforms to FITS standard"), ("DOSNP", False, ""),
    ("NAXIS1", 9576, ""), ("BZERO", 32768, "unsigned"), ("DITHER", 0, "[] Dither"),
    ("EXPTIME", 30.0, "[s]"), ("CDELT1", -0.74 / 3600, "[deg/pixel] RA increases to the left"),
    ("MJD-MID", 61368.250173611115, "x" * 60), ("TINY", 1e-300, ""), ("BIG", -1.2345e22, "c"),
    ("RA", "00h42m44.3299992s", "[hms] Telescope right ascension"), ("OBSNOTE", "", ""),
    ("ENCRLIGT", "", "Enclosure red lights state"), ("NAME", "O''Brien's", ""),
    ("LONGSTR", "a" * 60, "a comment that must be cut"), ("FWHMASEC", "2.5738", "text, as sites"),
]


def astropy_image(key: str, value: object, comment: str) -> str:
    """astropy's card with the longest part of `comment` that fits (it warns about the rest)."""
    for end in range(len(comment), -1, -1):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                return fits.Card(key, value, comment[:end]).image
            except VerifyWarning:
                continue
    raise AssertionError("no comment fits")


@pytest.mark.parametrize(("key", "value", "comment"), VALUES, ids=[v[0] for v in VALUES])
def test_a_card_is_byte_for_byte_what_astropy_writes(key: str, value: object, comment: str) -> None:
    assert card_image(key, value, comment) == astropy_image(key, value, comment)
    card = fits.Card.fromstring(card_image(key, value, comment))
    assert card.keyword == key
    assert card.value == (pytest.approx(value, rel=1e-13) if isinstance(value, float) else value)


def test_history_and_a_whole_header_read_back() -> None:
    text = header_block([card_image(k, v, c) for k, v, c in VALUES] + [history_image("synth a.b=1")])
    assert len(text) % 2880 == 0
    header = fits.Header.fromstring(text)
    assert [str(h) for h in header["HISTORY"]] == ["synth a.b=1"]
    assert header["CDELT1"] == pytest.approx(-0.74 / 3600, rel=1e-15)
