"""The point spread function: a sum of round Gaussians, integrated exactly over each pixel.

A Moffat-like seeing profile (sharp core, extended wings) is approximated by three concentric
Gaussians. Each Gaussian is separable and its pixel integral is a difference of error
functions, so a star's stamp is a few outer products of 1-D vectors: exact sub-pixel centres
(a centroid finds the true position) without supersampling, even when the seeing is
undersampled. Stars take these integrals from a table over sub-pixel offsets (stars.py), which
matches them to a few millionths of the star's flux.
"""

from __future__ import annotations

import functools
import math

import numpy as np

PSF_COMPONENTS: tuple[tuple[float, float], ...] = (
    # (flux fraction, sigma relative to the core): core, inner halo, wings of a Moffat beta~3,
    # and the faint wide halo of scattered light that shows round saturated stars
    (0.79, 1.0),
    (0.15, 2.0),
    (0.04, 4.0),
    (0.02, 12.0),
)
PSF_MODEL = "gauss4"  # the name recorded in frame params
"""gauss4: the fourth, wide component (2% at 12 core sigmas) gives a saturated star the wings
a real one has; with three components it was a flat top with a sharp edge."""
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
_BISECT_STEPS = 60

# Abramowitz & Stegun 7.1.26: |error| < 1.5e-7, plenty for float32 pixels
_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, vectorised (numpy has none and scipy is not a dependency)."""
    x = np.asarray(x, dtype=np.float64)
    z = np.abs(x)
    t = 1.0 / (1.0 + _ERF_P * z)
    poly = t * (_ERF_A[0] + t * (_ERF_A[1] + t * (_ERF_A[2] + t * (_ERF_A[3] + t * _ERF_A[4]))))
    return np.copysign(1.0 - poly * np.exp(-z * z), x)


def integrated_gaussian(offset: np.ndarray, sigma: float | np.ndarray) -> np.ndarray:
    """Fraction of a unit 1-D Gaussian falling in the pixel whose centre is `offset` from it."""
    scale = 1.0 / (math.sqrt(2.0) * np.asarray(sigma, dtype=np.float64))
    return 0.5 * (erf((offset + 0.5) * scale) - erf((offset - 0.5) * scale))


def pixel_fractions(edges: np.ndarray, sigma: float) -> np.ndarray:
    """Per-pixel fractions of a 1-D Gaussian from pixel edge offsets (..., n + 1) -> (..., n)."""
    cdf = erf(edges * (1.0 / (math.sqrt(2.0) * sigma)))
    return 0.5 * np.diff(cdf, axis=-1)


@functools.lru_cache(maxsize=1)
def _half_max_radius() -> float:
    """Radius (in core sigmas) where the mixture falls to half its central value."""

    def profile(r: float) -> float:
        return sum(w / k**2 * math.exp(-0.5 * (r / k) ** 2) for w, k in PSF_COMPONENTS)

    half, low, high = 0.5 * profile(0.0), 0.0, 10.0 * max(k for _, k in PSF_COMPONENTS)
    for _ in range(_BISECT_STEPS):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if profile(mid) > half else (low, mid)
    return 0.5 * (low + high)


def core_sigma(fwhm_px: float) -> float:
    """The core Gaussian's sigma (pixels) that gives the whole PSF a FWHM of `fwhm_px`."""
    return 0.5 * fwhm_px / _half_max_radius()


WIDE_RATIO = 8.0
"""Components at least this wide (in core sigmas) are the faint halo."""

WIDE_FLOOR_FACTOR = 10.0
"""The halo sets a star's stamp size only where it tops `floor` x this: it matters around
bright stars, and drawing it out to 0.3 e- around every faint one made 768² frames 50% slower
for nothing visible (a faint star loses up to its 2% halo beyond the stamp, below its noise)."""


def psf_radius(flux: np.ndarray, sigma: float, floor: float) -> np.ndarray:
    """How far out (pixels) a star of `flux` e- still puts more than `floor` e- in a pixel
    (the wide halo: more than floor x WIDE_FLOOR_FACTOR)."""
    flux = np.asarray(flux, dtype=np.float64)
    radius = np.zeros_like(flux)
    for weight, ratio in PSF_COMPONENTS:
        s = sigma * ratio
        central = flux * weight / (2.0 * math.pi * s * s)
        level = floor * (WIDE_FLOOR_FACTOR if ratio >= WIDE_RATIO else 1.0)
        reach = s * np.sqrt(2.0 * np.log(np.maximum(central / level, 1.0)))
        np.maximum(radius, reach, out=radius)
    return radius
