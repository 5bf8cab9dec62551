"""What do the pixels of an image say? Its histogram, and the radial profile of a clicked star (pure).

The real observe page sends these questions to its quick-analysis service (LCOGT/ptr_ui
`src/components/AnalysisTools/HistogramTool.vue`, `/histogram-clipped`, and `StarProfile.vue`,
`/starprofiles`), which reads the image's small FITS. Here the page's own endpoints hand the
small `…10.fits.fz` to these functions: a few dozen lines of numpy, so no photometry library is
pulled in for one profile.

Coordinates from the page are fractions of the JPG, whose top row is the FITS's last row (the
preview is north up: `exposure.preview.make_preview` flips it), so `y` is turned over here.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from astropy.io import fits

HISTOGRAM_BINS = 64
CLIP_PERCENTILES = (0.5, 99.5)
"""The histogram spans these percentiles, as a clipped histogram does: hot pixels and saturated
stars would otherwise squeeze the sky into one bar."""
SEARCH_RADIUS = 6
"""Pixels of the small FITS around the click searched for the star's peak: a click need not be exact."""
PROFILE_RADIUS = 12
"""Pixels out to which the profile is measured; the sky is the median of the outer ring."""
SKY_RING = (9.0, 12.0)
CENTROID_RADIUS = 4.0
CENTROID_PASSES = 3
DETECTION_SIGMA = 5.0
"""A clicked peak counts as a star only this many sky standard deviations above the sky."""


@dataclass(frozen=True)
class Histogram:
    """Counts of pixel values in equal bins from `low` to `high` (ADU)."""

    low: float
    high: float
    counts: list[int]
    median: float

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StarProfile:
    """A star's radial profile around its centroid: mean ADU above sky per 1-pixel ring."""

    x: float
    y: float
    """Centroid, FITS pixels counted from 0 (x along a row, y along a column)."""
    peak: float
    """ADU above sky at the brightest pixel."""
    sky: float
    saturated: bool
    """Two or more core pixels at the brightest value: the FWHM is then fitted to the wings."""
    fwhm_pixels: float | None
    """From a Gaussian fitted to the pixels; None when nothing star-like is there (no fit, or
    one wider than the measured radius)."""
    radii: list[float]
    values: list[float]
    width: int
    height: int
    """The small FITS's size in pixels, so the page can mark the centroid on its JPG."""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def fits_pixels(data: bytes) -> np.ndarray:
    """The first image in a FITS or `.fits.fz` file as float32; ValueError if there is none."""
    with fits.open(io.BytesIO(data), memmap=False) as hdus:
        for hdu in hdus:
            if hdu.data is not None and getattr(hdu.data, "ndim", 0) == 2:
                return np.asarray(hdu.data, dtype=np.float32)
    raise ValueError("no 2-D image in this FITS file")


def histogram(pixels: np.ndarray, bins: int = HISTOGRAM_BINS) -> Histogram:
    finite = pixels[np.isfinite(pixels)]
    if finite.size == 0:
        raise ValueError("the image has no finite pixel")
    low, high = (float(v) for v in np.percentile(finite, CLIP_PERCENTILES))
    if high <= low:
        high = low + 1.0
    counts, _ = np.histogram(finite, bins=bins, range=(low, high))
    return Histogram(low=low, high=high, counts=[int(c) for c in counts], median=float(np.median(finite)))


def star_profile(pixels: np.ndarray, fx: float, fy: float) -> StarProfile:
    """The profile of the brightest thing near the click at fractions (`fx`, `fy`) of the JPG."""
    rows, cols = pixels.shape
    col = min(cols - 1, max(0, int(fx * cols)))
    row = min(rows - 1, max(0, int((1.0 - fy) * rows)))
    r0, r1 = max(0, row - SEARCH_RADIUS), min(rows, row + SEARCH_RADIUS + 1)
    c0, c1 = max(0, col - SEARCH_RADIUS), min(cols, col + SEARCH_RADIUS + 1)
    window = np.nan_to_num(pixels[r0:r1, c0:c1], nan=-np.inf)
    peak_row, peak_col = np.unravel_index(int(np.argmax(window)), window.shape)
    peak_row, peak_col = peak_row + r0, peak_col + c0
    # everything below needs only the pixels around the peak: cut them out (a whole frame's
    # distance maps cost ~40 ms at 768², the cutout's well under 1 ms)
    reach = int(max(SKY_RING[1], PROFILE_RADIUS) + CENTROID_RADIUS) + 2
    top0, left0 = max(0, peak_row - reach), max(0, peak_col - reach)
    cutout = pixels[top0:peak_row + reach + 1, left0:peak_col + reach + 1]
    star = _measure(cutout, peak_row - top0, peak_col - left0)
    return replace(star, x=star.x + left0, y=star.y + top0, width=cols, height=rows)


def _measure(pixels: np.ndarray, peak_row: int, peak_col: int) -> StarProfile:
    """The profile around the peak at (`peak_row`, `peak_col`), in this array's coordinates."""
    yy, xx = np.indices(pixels.shape, dtype=np.float32)
    top = float(pixels[peak_row, peak_col])
    cx, cy = float(peak_col), float(peak_row)
    for _ in range(CENTROID_PASSES):  # from the brightest pixel (one corner of a flat top) inwards
        near = np.hypot(yy - cy, xx - cx)
        ring = (near >= SKY_RING[0]) & (near <= SKY_RING[1])
        sky = float(np.nanmedian(pixels[ring])) if ring.any() else float(np.nanmedian(pixels))
        core = (near <= CENTROID_RADIUS) & np.isfinite(pixels)
        weights = np.clip(pixels[core] - sky, 0.0, None)
        total = float(weights.sum())
        if total <= 0:
            break
        cx, cy = float((xx[core] * weights).sum() / total), float((yy[core] * weights).sum() / total)
    saturated = int(np.count_nonzero(pixels[core] >= top)) >= 2

    distance = np.hypot(yy - cy, xx - cx)
    inside = (distance < PROFILE_RADIUS) & np.isfinite(pixels)
    rings = np.floor(distance[inside]).astype(int)
    sums = np.bincount(rings, weights=pixels[inside] - sky, minlength=PROFILE_RADIUS)
    counts = np.bincount(rings, minlength=PROFILE_RADIUS)
    values = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    radii = np.arange(len(values)) + 0.5
    fitted = inside & (pixels < top) if saturated else inside  # a flat top is no Gaussian: fit the wings
    # Only out to where the star's own light fades (the first ring under a tenth of the brightest,
    # plus one): in a crowded field a neighbour or a bleed trail a few pixels out would otherwise
    # pass the fit's brightness cut and flatten the profile into no star at all.
    faded = np.flatnonzero(values < 0.1 * values.max()) if values.max() > 0 else np.array([], dtype=int)
    if faded.size:
        fitted &= distance < faded[0] + 1
    # a peak that stands out of the sky's own noise by less than DETECTION_SIGMA is no star
    sky_pixels = pixels[ring & np.isfinite(pixels)]
    noise = 1.4826 * float(np.median(np.abs(sky_pixels - sky))) if sky_pixels.size else 0.0
    real = top - sky > DETECTION_SIGMA * noise
    fwhm = gaussian_fwhm(distance[fitted], pixels[fitted] - sky) if real else None
    return StarProfile(x=cx, y=cy, peak=top - sky, sky=sky, saturated=saturated,
                       fwhm_pixels=fwhm if fwhm is not None and fwhm < PROFILE_RADIUS else None,
                       radii=[float(r) for r in radii], values=[float(v) for v in values],
                       width=pixels.shape[1], height=pixels.shape[0])


def gaussian_fwhm(distance: np.ndarray, above_sky: np.ndarray) -> float | None:
    """FWHM of the round Gaussian A·exp(-r²/2σ²) that best fits the pixels around a centroid.

    Fitted as a straight line in (r², ln value) weighted by value² (Caruana's method), which needs
    no iterative solver: the pixels below a tenth of the brightest, where noise dominates the
    logarithm, are left out. None when fewer than three pixels are left or the fit does not fall
    off with radius (no star there).
    """
    top = float(np.max(above_sky)) if above_sky.size else 0.0
    keep = above_sky > max(top * 0.1, 0.0)
    if top <= 0 or int(keep.sum()) < 3:
        return None
    r2, value = distance[keep].astype(np.float64) ** 2, above_sky[keep].astype(np.float64)
    weights = value  # np.polyfit squares the weights: value² as Caruana's method asks
    slope, _ = np.polyfit(r2, np.log(value), 1, w=weights)
    if not slope < 0:
        return None
    return float(2.0 * np.sqrt(2.0 * np.log(2.0)) * np.sqrt(-1.0 / (2.0 * slope)))
