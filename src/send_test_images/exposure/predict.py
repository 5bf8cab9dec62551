"""The header's pixel measurements, predicted from a frame's recipe when no pixels are drawn.

A header sent alone (`up -f h`) must not cost a frame: drawing a 4096² frame is ~0.3 s, its
header ~5 ms. But IMGMIN ... IMGMAD, SEPSKY, FWHM and NSTARS are measured from pixels when
there are some (measure.py). Without pixels they are predicted here from what decides them,
the same way every time: the sky level, dark current, read noise and gain set the level and
spread; the seeing sets the FWHM; the frame's own star list (synth.sketch_frame: the stars
the pixels would hold) through the site's detection threshold sets NSTARS. The header then
says MEASURED = 'predicted' (header.py), and `make --from-header -f ...` of such a header
draws the pixels, which are the same whether or not a header was sent alone.

What is left out on purpose: dust, the frame's bias drift, cosmic rays, the satellite and
bleed trails; the optics' fall-off enters as its median and spread over the frame. The
predictions land within a few percent of what the pixels give (IMGSTDEV, which bright stars
dominate, within a third); tests/exposure/test_predict.py holds them to that.
"""

from __future__ import annotations

import math

import numpy as np

from send_test_images.exposure.measure import (
    MAD_TO_SIGMA,
    NOT_MEASURED,
    SITE_THRESHOLD_PER_ARCSEC,
    SITE_THRESHOLD_SIGMAS,
    ImageStats,
    StarStats,
)
from send_test_images.exposure.profiles import CameraProfile
from send_test_images.exposure.synth import FrameSketch
from send_test_images.exposure.synth.detector import (
    DEFAULT_BAD_COLUMN_RESPONSE,
    DEFAULT_HOT_FRACTION,
    DEFAULT_HOT_RATE,
    DEFAULT_PRNU,
    NORMAL_TABLE_REACH,
    vignetting_falloff,
)
from send_test_images.exposure.synth.perlin import DEFAULT_BLOB_HIGH, DEFAULT_BLOB_LOW
from send_test_images.exposure.synth.psf import FWHM_PER_SIGMA

DEEPEST_DEVIATE = 4.3
"""The read-out's Gaussian deviates stop here (detector.standard_normal's quantile table), so
no pixel of a big frame falls further below the sky than this many sigmas."""

QUANTISATION_VARIANCE = 1.0 / 12.0
"""Rounding to whole ADU adds this variance (ADU^2)."""

PERLIN_SPAN_SIGMAS = 6.5
"""The perlin image's full range is about this many of its standard deviations (measured on
sq768 and sq4k frames: 6.0-6.8)."""

RESPONSE_GRID = 64
"""The optics' fall-off is smooth: its median, spread and darkest corner come from a grid."""

PIXEL_BOX_FWHM2 = FWHM_PER_SIGMA**2 / 12.0
"""A star drawn into pixels is its PSF convolved with the pixel (variance 1/12 px^2 per
axis): what a profile fit measures is sqrt(seeing^2 + this) pixels."""


def predict_image_statistics(sketch: FrameSketch, camera: CameraProfile) -> ImageStats:
    """IMGMIN ... IMGMODE as the pixels of `sketch` would give them, to a few percent."""
    params = sketch.params
    exptime = float(params["exptime"])
    dark = camera.dark_current * exptime
    median_response, response_spread, darkest = _response(sketch.shape)
    light = 0.0  # e- through the optics (scaled by their response)
    if params["kind"] == "light" and params["image"] == "perlin":
        return _perlin_statistics(sketch, camera, dark)
    if params["kind"] == "light":
        light = float(params["sky_level"])
    elif params["kind"] == "flat":
        light = float(params["flat_level"])
    electrons = light * median_response + dark
    noise_variance = (electrons + camera.read_noise**2 + (DEFAULT_PRNU * electrons) ** 2) / camera.gain**2
    noise_variance += QUANTISATION_VARIANCE
    level = camera.bias_level + electrons / camera.gain
    height, width = sketch.shape
    pixels = height * width
    stars_adu, stars_square = _star_light(sketch, camera, level)
    spread_variance = (light * response_spread / camera.gain) ** 2
    variance = noise_variance + spread_variance + stars_square / pixels - (stars_adu / pixels) ** 2
    variance += DEFAULT_HOT_FRACTION * _hot_rate_square() * (exptime / camera.gain) ** 2
    sigma = math.sqrt(noise_variance)
    deepest = min(DEEPEST_DEVIATE, NORMAL_TABLE_REACH, math.sqrt(2.0 * math.log(max(pixels, 2))))
    lowest = camera.bias_level + (light * darkest + dark) / camera.gain - deepest * sigma
    highest = level + deepest * sigma + light * (1.0 - median_response) / camera.gain
    if exptime > 0:
        highest = max(highest, level + _hottest_rate(pixels) * exptime / camera.gain)
    if len(sketch.truth):
        truth = sketch.truth
        highest = max(highest, level + float(np.max(truth["peak"])))
        if bool(np.any(truth["saturated"])):
            highest = float(camera.saturation)
    saturation = float(camera.saturation)
    return ImageStats(
        minimum=int(max(0, math.floor(lowest))),
        maximum=int(min(saturation, math.ceil(highest))),
        mean=min(level + stars_adu / pixels, saturation),
        stdev=math.sqrt(max(variance, 0.0)),
        median=min(round(2.0 * level) / 2.0, saturation),
        mad=float(round(math.sqrt(noise_variance + spread_variance) / MAD_TO_SIGMA)),
        mode=int(min(saturation, round(level))),
    )


def _response(shape: tuple[int, int]) -> tuple[float, float, float]:
    """Median, RMS spread and darkest point of the optics' response over a frame of `shape`
    (optical axis at the centre: the camera's small offset moves these by a fraction of a
    percent)."""
    ry, rx = (np.linspace(-1.0, 1.0, RESPONSE_GRID) * (side / math.hypot(*shape)) for side in shape)
    falloff = vignetting_falloff(ry[:, None] ** 2 + rx[None, :] ** 2)
    # the bad column eats part of the charge in the half of the frame it crosses; where it
    # passes a dark corner is up to the camera's pattern: take it halfway
    darkest = float(falloff.min()) * (1.0 - 0.5 * (1.0 - DEFAULT_BAD_COLUMN_RESPONSE))
    return float(np.median(falloff)), float(np.std(falloff)), darkest


def _star_light(sketch: FrameSketch, camera: CameraProfile, level: float) -> tuple[float, float]:
    """The stars' ADU summed over the frame, and their ADU^2 summed (a star's pixels cannot
    rise above saturation, so its sum of squares is at most its flux times that)."""
    if len(sketch.truth) == 0:
        return 0.0, 0.0
    flux = np.asarray(sketch.truth["flux"], dtype=float) / camera.gain  # ADU
    peak = np.asarray(sketch.truth["peak"], dtype=float)
    fraction = np.where(flux > 0, peak / np.maximum(flux, 1e-30), 0.0)  # of the flux in the peak pixel
    headroom = max(float(camera.saturation) - level, 0.0)
    square = np.minimum(flux * flux * fraction, flux * headroom)
    return float(flux.sum()), float(square.sum())


def _hottest_rate(pixels: int) -> float:
    """The expected top e-/s of the camera's hot pixels (log-uniform, detector.fixed_pattern)."""
    count = max(1, round(DEFAULT_HOT_FRACTION * pixels))
    low, high = np.log(DEFAULT_HOT_RATE)
    return float(np.exp(low + (high - low) * count / (count + 1.0)))


def _hot_rate_square() -> float:
    """The mean square e-/s of a hot pixel (log-uniform between DEFAULT_HOT_RATE)."""
    low, high = DEFAULT_HOT_RATE
    return (high**2 - low**2) / (2.0 * math.log(high / low))


def _perlin_statistics(sketch: FrameSketch, camera: CameraProfile, dark: float) -> ImageStats:
    """The original smooth blobs span DEFAULT_BLOB_LOW..HIGH of the full well, most of them
    near the middle (fractal noise is close to Gaussian)."""
    low = camera.bias_level + (DEFAULT_BLOB_LOW * camera.full_well + dark) / camera.gain
    high = camera.bias_level + (DEFAULT_BLOB_HIGH * camera.full_well + dark) / camera.gain
    saturation = float(camera.saturation)
    middle = min(0.5 * (low + high), saturation)
    spread = (high - low) / PERLIN_SPAN_SIGMAS
    return ImageStats(
        minimum=int(max(0, math.floor(low))), maximum=int(min(saturation, math.ceil(high))),
        mean=middle, stdev=spread, median=round(2.0 * middle) / 2.0,
        mad=float(round(spread / MAD_TO_SIGMA)), mode=round(middle),
    )


def predict_star_statistics(
    sketch: FrameSketch, *, pixel_scale: float, seeing_fwhm: float, sky_sigma: float
) -> StarStats:
    """FWHM = the seeing asked for, drawn into pixels; NSTARS = the sketch's stars whose predicted peak clears
    the site's threshold (measure.star_statistics' rule); FWHMstd 0: no stars were fitted."""
    truth = sketch.truth
    if len(truth) == 0:
        return StarStats(NOT_MEASURED, NOT_MEASURED, NOT_MEASURED, 0, 0)
    threshold = max(SITE_THRESHOLD_SIGMAS * sky_sigma, SITE_THRESHOLD_PER_ARCSEC * pixel_scale)
    n_stars = int(np.count_nonzero(np.asarray(truth["peak"], dtype=float) > threshold))
    fwhm_pixels = math.sqrt((seeing_fwhm / pixel_scale) ** 2 + PIXEL_BOX_FWHM2)
    return StarStats(
        fwhm_pixels=fwhm_pixels,
        fwhm_arcsec=fwhm_pixels * pixel_scale,
        fwhm_std=0.0,
        n_stars=n_stars,
        n_fitted=0,
    )
