"""A clicked star's profile and an image's histogram, measured on frames whose truth is known."""

from __future__ import annotations

import io

import numpy as np
import pytest
from astropy.io import fits

from send_test_images.localsite.pixels import fits_pixels, histogram, star_profile

SHAPE = (64, 80)
SKY = 1000.0
FWHM_PER_SIGMA = 2 * np.sqrt(2 * np.log(2))


def star_frame(x: float, y: float, sigma: float, amplitude: float = 5000.0,
               saturate: float | None = None) -> np.ndarray:
    rng = np.random.default_rng(3)
    yy, xx = np.indices(SHAPE, dtype=float)
    frame = SKY + amplitude * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
    frame = frame + rng.normal(0, 5, SHAPE)
    return np.minimum(frame, saturate) if saturate else frame


def click_at(x: float, y: float) -> tuple[float, float]:
    """Fractions of the JPG for FITS pixel (x, y): the JPG's top row is the FITS's last."""
    return (x + 0.5) / SHAPE[1], 1 - (y + 0.5) / SHAPE[0]


@pytest.mark.parametrize("sigma", [1.0, 1.6, 2.5])
def test_the_fwhm_peak_and_centre_of_a_gaussian_star(sigma: float) -> None:
    profile = star_profile(star_frame(40.3, 20.6, sigma), *click_at(38, 22))  # a click 2 px off
    assert profile.fwhm_pixels == pytest.approx(FWHM_PER_SIGMA * sigma, rel=0.05)
    assert profile.sky == pytest.approx(SKY, abs=5)
    assert profile.peak == pytest.approx(5000 * np.exp(-(0.3**2 + 0.4**2) / (2 * sigma**2)), rel=0.1)
    assert (profile.x, profile.y) == (pytest.approx(40.3, abs=0.3), pytest.approx(20.6, abs=0.3))
    assert profile.values[0] > profile.values[3] > profile.values[-1]
    assert (profile.width, profile.height) == (SHAPE[1], SHAPE[0])


def test_a_saturated_star_is_said_so_and_measured_on_its_wings() -> None:
    profile = star_profile(star_frame(40, 30, 2.0, amplitude=40000, saturate=20000), *click_at(40, 30))
    assert profile.saturated
    assert profile.fwhm_pixels == pytest.approx(FWHM_PER_SIGMA * 2.0, rel=0.1)


def test_a_bright_neighbour_a_few_pixels_out_does_not_spoil_the_fwhm() -> None:
    """Crowded fields (a cluster, a bleed trail beside the star): the fit keeps to the star's own light."""
    frame = star_frame(40, 30, 1.6) + star_frame(48, 30, 1.6, amplitude=4000) - SKY
    profile = star_profile(frame, *click_at(40, 30))
    assert (profile.x, profile.y) == (pytest.approx(40, abs=0.3), pytest.approx(30, abs=0.3))
    assert profile.fwhm_pixels == pytest.approx(FWHM_PER_SIGMA * 1.6, rel=0.1)


def test_empty_sky_has_no_fwhm() -> None:
    profile = star_profile(star_frame(10, 10, 1.5, amplitude=0.0), *click_at(50, 40))
    assert profile.fwhm_pixels is None


def test_the_histogram_spans_the_clipped_range_and_reads_a_compressed_fits() -> None:
    frame = star_frame(40, 30, 2.0).astype(np.float32)
    hdus = fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(frame.astype(np.int32))])
    out = io.BytesIO()
    hdus.writeto(out)
    pixels = fits_pixels(out.getvalue())
    assert pixels.shape == SHAPE
    answer = histogram(pixels, bins=16)
    assert len(answer.counts) == 16
    assert answer.low == pytest.approx(np.percentile(pixels, 0.5))
    assert answer.high == pytest.approx(np.percentile(pixels, 99.5))
    assert answer.median == pytest.approx(SKY, abs=5)
    assert sum(answer.counts) >= 0.99 * pixels.size


def test_a_file_without_an_image_is_refused() -> None:
    out = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU()]).writeto(out)
    with pytest.raises(ValueError, match="no 2-D image"):
        fits_pixels(out.getvalue())
