"""Binning a frame by whole factors, shared by the JPG preview and the small FITS.

Both are block means of the same frame, so one implementation keeps them in step; `bin_frame`
makes the header follow the pixels (reference pixel, scale, XBINNING/YBINNING or the site's
XBINING/YBINING, binned pixel size).
"""

from __future__ import annotations

import math

import numpy as np
from astropy.io import fits

from send_test_images.errors import UsageError


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
    binned = np.round(block_mean(pixels, factor)).astype(np.uint16)
    out = header.copy()
    height, width = binned.shape
    if "NAXIS1" in out:
        out["NAXIS1"] = width
        out["NAXIS2"] = height
    for axis in ("1", "2"):
        if f"CRPIX{axis}" in out:
            out[f"CRPIX{axis}"] = (out[f"CRPIX{axis}"] + (factor - 1) / 2) / factor
        if f"CDELT{axis}" in out:
            out[f"CDELT{axis}"] = out[f"CDELT{axis}"] * factor
        for other in ("1", "2"):
            if f"CD{axis}_{other}" in out:
                out[f"CD{axis}_{other}"] = out[f"CD{axis}_{other}"] * factor
    for key in ("XBINNING", "YBINNING", "XBINING", "YBINING"):  # this tool's and the site's spelling
        if key in out:
            out[key] = out[key] * factor
    for key in ("PIXSCALE", "XPIXSZ", "YPIXSZ"):
        if key in out and isinstance(out[key], int | float):
            out[key] = out[key] * factor
    for key in ("FWHM", "FWHMPIX"):  # pixels; numbers by default, text as the site writes them
        if key in out:
            out[key] = _per_binned_pixel(out[key], factor)
    return binned, out


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
