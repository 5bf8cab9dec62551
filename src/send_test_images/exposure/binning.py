"""Binning a frame by whole factors, shared by the JPG preview and the small FITS.

Both are block means of the same frame, so one implementation keeps them in step; `bin_frame`
makes the header follow the pixels (reference pixel, scale, XBINNING/YBINNING or the site's
XBINING/YBINING, binned pixel size).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from astropy.io import fits

from send_test_images.errors import UsageError
from send_test_images.exposure.cards import CARD_LENGTH, card_image


def block_mean(pixels: np.ndarray, factor: int) -> np.ndarray:
    """Average `factor`×`factor` blocks (float32); rows/columns that do not fill a block are cut.

    Sums run in uint32 along one axis at a time, which is several times faster than a 4-D mean.
    """
    if not isinstance(factor, int) or factor < 1:
        raise UsageError(f"binning factor {factor!r} is not allowed: use an integer >= 1")
    if factor == 1:
        return pixels.astype(np.float32)
    height, width = (pixels.shape[0] // factor), (pixels.shape[1] // factor)
    if height == 0 or width == 0:
        raise UsageError(
            f"binning factor {factor} is not allowed for a {pixels.shape[1]}x{pixels.shape[0]} "
            "frame: use one no larger than the frame"
        )
    cut = pixels[: height * factor, : width * factor]
    rows = cut.reshape(height, factor, width * factor).sum(axis=1, dtype=np.uint32)
    blocks = rows.reshape(height, width, factor).sum(axis=2, dtype=np.uint32)
    return blocks.astype(np.float32) / np.float32(factor * factor)


def small_bin_factor(shape: tuple[int, int], long_side: int) -> int:
    """The smallest integer binning that brings the long side to `long_side` or below."""
    if long_side < 1:
        raise UsageError(f"small FITS size {long_side!r} is not allowed: use a positive integer")
    return max(1, math.ceil(max(shape) / long_side))


def bin_frame(
    pixels: np.ndarray, header: fits.Header, factor: int
) -> tuple[np.ndarray, fits.Header]:
    """Pixels averaged in `factor`² blocks (rounded to uint16) and the header to match.

    Binned pixel i (1-based) covers original pixels (i-1)·f+1 … i·f, whose centre is
    i·f - (f-1)/2; so a reference pixel p maps to (p + (f-1)/2) / f.
    """
    binned = bin_pixels(pixels, factor)
    out = header.copy()
    for key, value in binned_values(out, factor, binned.shape).items():
        out[key] = value
    return binned, out


def bin_pixels(pixels: np.ndarray, factor: int) -> np.ndarray:
    """bin_frame's pixels alone."""
    return np.round(block_mean(pixels, factor)).astype(np.uint16)


def bin_header_text(text: bytes, factor: int, shape: tuple[int, int]) -> bytes:
    """bin_frame's header, from and to a header's text (80-character cards, END, padding): the
    cards bin_frame changes are rewritten, the rest kept byte for byte, so a small FITS costs
    no parse of the ~270-card header (~2.5 ms) and no astropy check of every card."""
    images = [text[at:at + CARD_LENGTH].decode("ascii") for at in range(0, len(text), CARD_LENGTH)]
    keys = [image[:8].rstrip() for image in images]
    cards = {key: fits.Card.fromstring(images[at]) for at, key in enumerate(keys) if key in BINNED_KEYS}
    values = {key: card.value for key, card in cards.items()}
    for key, value in binned_values(values, factor, shape).items():
        at = keys.index(key)
        images[at] = card_image(key, value, cards[key].comment)
    return "".join(images).encode("ascii")


BINNED_KEYS = frozenset(
    {"NAXIS1", "NAXIS2", "CRPIX1", "CRPIX2", "CDELT1", "CDELT2", "CD1_1", "CD1_2", "CD2_1", "CD2_2",
     "XBINNING", "YBINNING", "XBINING", "YBINING", "PIXSCALE", "XPIXSZ", "YPIXSZ", "FWHM", "FWHMPIX"}
)
"""The keys whose values binning changes."""


def binned_values(header: Mapping[str, Any], factor: int, shape: tuple[int, int]) -> dict[str, object]:
    """The new values of the keys of `header` that binning by `factor` to `shape` changes:
    size, reference pixel, scale, XBINNING/YBINNING or the site's XBINING/YBINING, pixel size."""
    height, width = shape
    out: dict[str, object] = {}
    if "NAXIS1" in header:
        out["NAXIS1"] = width
        out["NAXIS2"] = height
    for axis in ("1", "2"):
        if f"CRPIX{axis}" in header:
            out[f"CRPIX{axis}"] = (header[f"CRPIX{axis}"] + (factor - 1) / 2) / factor
        if f"CDELT{axis}" in header:
            out[f"CDELT{axis}"] = header[f"CDELT{axis}"] * factor
        for other in ("1", "2"):
            if f"CD{axis}_{other}" in header:
                out[f"CD{axis}_{other}"] = header[f"CD{axis}_{other}"] * factor
    for key in ("XBINNING", "YBINNING", "XBINING", "YBINING"):  # this tool's and the site's spelling
        if key in header:
            out[key] = header[key] * factor
    for key in ("PIXSCALE", "XPIXSZ", "YPIXSZ"):
        if key in header and isinstance(header[key], int | float):
            out[key] = header[key] * factor
    for key in ("FWHM", "FWHMPIX"):  # pixels; numbers by default, text as the site writes them
        if key in header:
            out[key] = _per_binned_pixel(header[key], factor)
    return out


NOT_MEASURED = -99


def _per_binned_pixel(value: object, factor: int) -> object:
    """A size in pixels, in binned pixels; the site's `-99` (not measured) stays -99."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return value
    if number == NOT_MEASURED:
        return value
    binned = round(number / factor, 4)
    return str(binned) if isinstance(value, str) else binned
