"""What a site measures on every frame and writes into its header, measured here from the frame.

ptr-observatory's `subprocesses/photometry_process.py` (the script that also writes the
`…-EX00.txt`) puts into the header: SEPSKY (the image mode), FWHM/FWHMpix (pixels),
FWHMasec and FWHMstd (arcsec), NSTARS (stars with a good radial-profile fit), IMGSTDEV and,
in the same function, IMGMIN/IMGMAX/IMGMEAN/IMGMODE/IMGMED/IMGMAD. The web UI shows FWHMASEC
and SEPSKY (ptr_ui `src/components/ImageDisplay/ImageInfoBar.vue`). Writing the seeing the
spec asked for would be easy and wrong when the pixels disagree, so everything here is taken
from the pixels: image statistics from a histogram, FWHM from a Gaussian fitted to each star's
radial profile, like the site's, at the positions of the stars that were drawn.

Cost is what matters (the 4096² products must stay under 0.5 s): the statistics come from one
histogram of every second row and column, or sparser on big frames (5 ms at 4096² instead of
75 ms for all pixels; a median or MAD of a million values does not move), minimum and maximum
from all pixels; the star fits are one vectorised least-squares over at most DEFAULT_FIT_STARS
stamps.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from astropy.table import Table

UINT16_VALUES = 65536
STATS_STEP = 2
"""Histogram statistics use at least every STATS_STEP-th row and column ..."""

STATS_SAMPLES = 1_000_000
"""... and on bigger frames a step that leaves about this many pixels (every 4th row and
column of a 4096² frame): the median and MAD of a million sky pixels are good to a fraction of
an ADU, and the histogram costs 5 ms instead of 21."""

DEFAULT_FIT_STARS = 60
"""The brightest unsaturated stars whose profiles are fitted; the site fits a few hundred, and
the median FWHM of sixty is already good to a few percent."""

DEFAULT_MIN_SNR = 30.0
"""Stars fainter than this are too noisy for a profile fit."""

DEFAULT_LINEAR_FRACTION = 0.7
"""A star is fitted only if its peak stays below this fraction of the range above bias."""

PROFILE_LEVEL = 0.15
"""Pixels below this fraction of the peak are left out of the fit (noise dominates there)."""

STAMP_FWHMS = 2.0
"""Stamp radius in expected FWHMs: the core and its shoulders, not the faint wide wing."""

SITE_THRESHOLD_SIGMAS = 3.0
SITE_THRESHOLD_PER_ARCSEC = 200.0
"""The site counts a source when its peak is above max(3 sigma of the sky, 200 ADU x pixel
scale) (photometry_process.py); NSTARS counts the drawn stars above that threshold."""

MAD_TO_SIGMA = 1.4826
MAD_FIRST_STEPS = 512
NOT_MEASURED = -99
"""What the site writes for FWHM and NSTARS when there is nothing to measure."""


@dataclass(frozen=True)
class ImageStats:
    """ADU statistics of the whole frame, as IMGMIN ... IMGSTDEV."""

    minimum: int
    maximum: int
    mean: float
    stdev: float
    median: float
    mad: float
    mode: int


@dataclass(frozen=True)
class StarStats:
    """FWHM in pixels and arcsec, its scatter between stars (arcsec), and the star count."""

    fwhm_pixels: float
    fwhm_arcsec: float
    fwhm_std: float
    n_stars: int
    n_fitted: int


@dataclass(frozen=True)
class Histogram:
    """How often each uint16 value occurs among every `step`-th row and column of a frame.

    The header's statistics and the preview's stretch both start from it; at 768² both sample
    every second pixel, so a frame drawn for both is counted once (`sample_histogram`).
    """

    step: int
    counts: np.ndarray  # int64, UINT16_VALUES long

    @functools.cached_property
    def present(self) -> np.ndarray:
        """The values that occur, ascending: a sky frame's two thousand or so, not 65536."""
        return np.flatnonzero(self.counts)


def statistics_step(shape: tuple[int, ...]) -> int:
    """The sampling step image_statistics uses for a frame of `shape`."""
    return max(STATS_STEP, round(math.sqrt(math.prod(shape) / STATS_SAMPLES)))


def sample_histogram(pixels: np.ndarray, step: int) -> Histogram:
    """The histogram of every `step`-th row and column of `pixels` (rounded into uint16)."""
    sample = pixels[::step, ::step]
    if pixels.dtype != np.uint16:
        sample = np.clip(np.rint(sample), 0, UINT16_VALUES - 1).astype(np.uint16)
    return Histogram(step, np.bincount(sample.ravel(), minlength=UINT16_VALUES))


def image_statistics(pixels: np.ndarray, histogram: Histogram | None = None) -> ImageStats:
    """Minimum and maximum of every pixel; the rest from a histogram of a regular grid of them
    (`histogram`, when the caller has it for statistics_step of this frame), worked out over
    the values that occur only."""
    step = statistics_step(pixels.shape)
    if histogram is None or histogram.step != step:
        histogram = sample_histogram(pixels, step)
    values = histogram.present
    counts = histogram.counts[values].astype(np.float64)
    total = counts.sum()
    # plain sums, not `@`: a matrix product goes to BLAS, whose thread pool spins on the other
    # core after every call (a 768² frame cost twice its wall time in CPU)
    mean = float(np.sum(counts * values) / total)
    variance = float(np.sum(counts * np.square(values - mean)) / total)
    cumulative = np.cumsum(counts)
    median = _histogram_median(values, cumulative, total)
    mad = _histogram_mad(values, cumulative, total, median)
    return ImageStats(
        minimum=int(pixels.min()), maximum=int(pixels.max()), mean=mean,
        stdev=math.sqrt(variance), median=median, mad=mad, mode=int(values[np.argmax(counts)]),
    )


def _histogram_median(values: np.ndarray, cumulative: np.ndarray, total: float) -> float:
    """np.median's answer for integer data: the middle value, or the mean of the middle two
    (`cumulative`: how many pixels are at or below each of `values`)."""
    low = int(values[np.searchsorted(cumulative, (total - 1) // 2, side="right")])
    high = int(values[np.searchsorted(cumulative, total // 2, side="right")])
    return 0.5 * (low + high)


def _histogram_mad(values: np.ndarray, cumulative: np.ndarray, total: float, median: float) -> float:
    """The median absolute deviation: the smallest m with half the pixels within median +- m.

    The search looks at the first MAD_FIRST_STEPS deviations, where a sky frame's MAD lies,
    and only then at all of them: 65536-long arrays cost more than the rest of a 768² frame's
    statistics.
    """
    for steps in (np.arange(MAD_FIRST_STEPS), np.arange(UINT16_VALUES)):
        upper = np.floor(median + steps)
        lower = np.ceil(median - steps) - 1
        inside = _at_or_below(values, cumulative, upper) - _at_or_below(values, cumulative, lower)
        half = int(np.searchsorted(inside, total / 2.0))
        if half < steps.size:
            # deviations from a median of whole or half numbers: good to half an ADU
            return float(half)
    return float(UINT16_VALUES - 1)


def _at_or_below(values: np.ndarray, cumulative: np.ndarray, level: np.ndarray) -> np.ndarray:
    """How many pixels are at or below each `level`."""
    index = np.searchsorted(values, level, side="right")
    return np.where(index > 0, cumulative[np.maximum(index - 1, 0)], 0.0)


def star_statistics(
    pixels: np.ndarray,
    truth: Table,
    *,
    pixel_scale: float,
    expected_fwhm: float,
    sky_sigma: float,
    saturation: int,
    bias_level: int,
) -> StarStats:
    """FWHM from Gaussian fits to the radial profiles of the brightest unsaturated stars, at
    the drawn positions; NSTARS = drawn stars whose peak clears the site's threshold.

    `expected_fwhm` (pixels) sets only the stamp size; `sky_sigma` (ADU) the threshold.
    """
    if len(truth) == 0:
        return StarStats(NOT_MEASURED, NOT_MEASURED, NOT_MEASURED, 0, 0)
    peak = np.asarray(truth["peak"], dtype=float)
    threshold = max(SITE_THRESHOLD_SIGMAS * sky_sigma, SITE_THRESHOLD_PER_ARCSEC * pixel_scale)
    n_stars = int(np.count_nonzero(peak > threshold))
    radius = max(3, math.ceil(STAMP_FWHMS * expected_fwhm))
    height, width = pixels.shape
    x = np.asarray(truth["x"], dtype=float)
    y = np.asarray(truth["y"], dtype=float)
    usable = (
        ~np.asarray(truth["saturated"], dtype=bool)
        & (np.asarray(truth["snr"], dtype=float) > DEFAULT_MIN_SNR)
        & (peak < DEFAULT_LINEAR_FRACTION * (saturation - bias_level))
        & (x >= radius + 1) & (x < width - radius - 2) & (y >= radius + 1) & (y < height - radius - 2)
    )
    chosen = np.flatnonzero(usable)
    chosen = chosen[np.argsort(-peak[chosen], kind="stable")][:DEFAULT_FIT_STARS]
    if chosen.size == 0:
        return StarStats(NOT_MEASURED, NOT_MEASURED, NOT_MEASURED, n_stars, 0)
    sigma = _fit_sigmas(pixels, x[chosen], y[chosen], radius)
    fwhm = sigma[np.isfinite(sigma)] * (2.0 * math.sqrt(2.0 * math.log(2.0)))
    if fwhm.size == 0:
        return StarStats(NOT_MEASURED, NOT_MEASURED, NOT_MEASURED, n_stars, 0)
    fwhm_pixels = float(np.median(fwhm))
    spread = MAD_TO_SIGMA * float(np.median(np.abs(fwhm - fwhm_pixels)))
    # a blend or a cosmic ray in a stamp gives a wild fit; the site's std would carry it, a
    # reader wants the star-to-star scatter, so fits beyond 3 sigma are left out of FWHMstd
    kept = fwhm[np.abs(fwhm - fwhm_pixels) <= 3.0 * spread] if spread > 0 else fwhm
    return StarStats(
        fwhm_pixels=fwhm_pixels,
        fwhm_arcsec=fwhm_pixels * pixel_scale,
        fwhm_std=float(np.std(kept)) * pixel_scale,
        n_stars=n_stars,
        n_fitted=int(fwhm.size),
    )


def _fit_sigmas(pixels: np.ndarray, x: np.ndarray, y: np.ndarray, radius: int) -> np.ndarray:
    """Per star, the sigma of I(r) = A exp(-r^2 / 2 sigma^2) fitted to the background-subtracted
    stamp around its true centre: a weighted line through (r^2, ln I) over the pixels above
    PROFILE_LEVEL of the peak, all stars at once. NaN where the fit is not a decaying profile."""
    offsets = np.arange(-radius, radius + 1)
    rows = np.rint(y).astype(np.intp)[:, None, None] + offsets[None, :, None]
    cols = np.rint(x).astype(np.intp)[:, None, None] + offsets[None, None, :]
    stamps = pixels[rows, cols].astype(np.float64)
    edge = np.concatenate([stamps[:, 0, :], stamps[:, -1, :], stamps[:, :, 0], stamps[:, :, -1]], axis=1)
    stamps -= np.median(edge, axis=1)[:, None, None]
    r2 = (cols - x[:, None, None]) ** 2 + (rows - y[:, None, None]) ** 2
    top = stamps.max(axis=(1, 2))
    use = stamps > PROFILE_LEVEL * top[:, None, None]
    weight = np.where(use, np.square(np.where(use, stamps, 1.0)), 0.0)  # ln I has error 1/I
    logs = np.log(np.where(use, stamps, 1.0))
    with np.errstate(divide="ignore", invalid="ignore"):  # a one-pixel star has no slope: NaN
        sw = weight.sum(axis=(1, 2))
        mx = (weight * r2).sum(axis=(1, 2)) / sw
        my = (weight * logs).sum(axis=(1, 2)) / sw
        dx = r2 - mx[:, None, None]
        slope = (weight * dx * (logs - my[:, None, None])).sum(axis=(1, 2)) / (
            weight * np.square(dx)
        ).sum(axis=(1, 2))
        sigma = np.sqrt(-0.5 / slope)
    sigma[~(slope < 0)] = np.nan
    return sigma
