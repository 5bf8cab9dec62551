"""Frames that survive an astronomer's close look (issue 13), each property with a number.

Dust donuts: a few, shallow, plain in a flat, lost in a light's sky noise. Pattern noise: below
the read noise after binning to preview size. Saturated stars: wings and bleed along their
column. OBJECT: a real target's name at the pointing. Smartstack previews: a running stack,
deeper with every frame. Header measurements: what the pixels say.
"""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pytest
import sep
from PIL import Image

from send_test_images.exposure.binning import block_mean, small_bin_factor
from send_test_images.exposure.observation import make_observation
from send_test_images.exposure.products import draw_frame, make_exposure, running_stack
from send_test_images.exposure.profiles import get_camera, get_site
from send_test_images.exposure.spec import ExposureSpec
from send_test_images.exposure.synth import FrameSpec, make_frame
from send_test_images.exposure.synth.detector import fixed_pattern
from send_test_images.exposure.targets import NAMES, target_near

WHEN = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)
SQ4K = get_camera("sq4k")
SQ1K = get_camera("sq1k")


def ring_contrast(image: np.ndarray, x: float, y: float, radius: float) -> float:
    """Mean of a donut's ring (0.6..0.95 of its radius) over the mean just outside it, minus 1."""
    rows, cols = np.indices(image.shape)
    r = np.hypot(rows - y, cols - x) / radius
    ring = image[(r > 0.6) & (r < 0.95)]
    around = image[(r > 1.3) & (r < 1.8)]
    return float(ring.mean() / around.mean() - 1.0)


def test_a_4k_sensor_has_a_few_shallow_dust_donuts() -> None:
    dust = fixed_pattern(SQ4K).dust
    assert 2 <= len(dust) <= 8  # was 25
    assert all(0.002 <= depth <= 0.015 for *_, depth in dust)  # was up to 7%


def test_dust_donuts_show_in_a_flat_and_hide_in_a_light() -> None:
    flat = make_frame(FrameSpec(kind="flat"), SQ4K, seed=1).pixels.astype(np.float64) - SQ4K.bias_level
    light = make_frame(FrameSpec(), SQ4K, seed=2).pixels.astype(np.float64) - SQ4K.bias_level
    factor = small_bin_factor(light.shape, SQ4K.small_size)
    binned_light = block_mean(light.astype(np.uint16), factor).astype(np.float64)
    sky_noise = 1.4826 * np.median(np.abs(binned_light - np.median(binned_light)))
    for x, y, radius, depth in fixed_pattern(SQ4K).dust:
        box = (slice(max(0, int(y - 2 * radius)), int(y + 2 * radius)),
               slice(max(0, int(x - 2 * radius)), int(x + 2 * radius)))
        offset_x, offset_y = box[1].start, box[0].start
        in_flat = ring_contrast(flat[box], x - offset_x, y - offset_y, radius)
        # the ring blocks `depth`, and a quarter of it again falls on the whole disc
        assert in_flat == pytest.approx(-1.25 * depth, abs=0.4 * depth + 0.001)
        # in the light, the dip per preview pixel is well below the sky noise per preview pixel
        sky = np.median(binned_light)
        assert depth * sky < 0.5 * sky_noise


@pytest.mark.parametrize("camera", [SQ4K, SQ1K, get_camera("sq768")], ids=lambda c: c.name)
def test_column_pattern_stays_below_the_read_noise_after_binning(camera) -> None:  # type: ignore[no-untyped-def]
    bias = make_frame(FrameSpec(kind="bias", exptime=0.0), camera, seed=4).pixels
    factor = small_bin_factor(bias.shape, camera.small_size)
    binned = block_mean(bias, factor).astype(np.float64)
    column_offsets = binned.mean(axis=0) - binned.mean()
    read_noise_binned = camera.read_noise / camera.gain / factor
    assert np.abs(column_offsets).max() < read_noise_binned  # no stripe, the bad column included
    assert column_offsets.std() < 0.3 * read_noise_binned


def test_saturated_stars_have_wings_and_bleed_along_their_column() -> None:
    frame = make_frame(FrameSpec(), SQ4K, seed=2026)
    pixels = frame.pixels.astype(np.float64)
    truth = frame.truth
    star = truth[np.argmax(truth["flux"])]
    row, col = round(float(star["y"])), round(float(star["x"]))
    sky = np.median(pixels)
    sky_sigma = 1.4826 * np.median(np.abs(pixels[::4, ::4] - sky))
    fwhm = 2.5 / SQ4K.pixel_scale
    rows, cols = np.indices((161, 161))
    r = np.hypot(rows - 80, cols - 80)
    patch = pixels[row - 80 : row + 81, col - 80 : col + 81]
    halo = patch[(r > 8 * fwhm) & (r < 12 * fwhm)]
    assert np.median(halo) - sky > 3 * sky_sigma  # wings well beyond the core, not a flat top
    saturated = patch >= SQ4K.saturation
    tall = np.flatnonzero(saturated.any(axis=1))
    wide = np.flatnonzero(saturated.any(axis=0))
    assert tall.size >= 2 * wide.size  # the saturated part runs along the column: a bleed
    assert frame.params["bleed_columns"] > 0


@pytest.mark.parametrize("seed", range(8))
def test_object_is_a_real_target_where_the_telescope_points(seed: int) -> None:
    header = make_exposure(ExposureSpec(site="tst", inst="cam", number=1, files="hF", seed=seed,
                                        camera=get_camera("sq768"), date_obs=WHEN)).header
    assert header["OBJECT"] in NAMES
    assert target_near(header["CRVAL1"], header["CRVAL2"], radius=0.05) == header["OBJECT"]
    assert header["ALTITUDE"] >= 30


def test_with_no_target_up_the_pointing_is_named_as_the_site_names_it() -> None:
    observation = make_observation(WHEN, get_site("tst"), 5, min_altitude=89.5, max_altitude=90.0)
    assert observation.target is None
    header = make_exposure(ExposureSpec(site="tst", inst="cam", number=1, files="hF", seed=5,
                                        camera=get_camera("sq768"), date_obs=WHEN,
                                        ra=observation.ra, dec=observation.dec)).header
    assert header["OBJECT"].endswith("dec") and "ra" in header["OBJECT"]


def test_smartstack_previews_are_a_running_stack_deeper_with_every_frame() -> None:
    camera = get_camera("sq768")
    field = FrameSpec(field_seed=77)
    noise = []
    for index in range(4):
        frame = make_frame(field, camera, seed=100 + index, keep_expected=True)
        shown = running_stack(frame, index + 1).astype(np.float64)
        sky = shown - frame.expected
        noise.append(float(np.std(sky[sky < 5 * np.std(sky)])))
    ratios = [noise[0] / n for n in noise]
    assert ratios == pytest.approx([1.0, 2**0.5, 3**0.5, 2.0], rel=0.1)
    jpgs = []
    for index in range(3):
        spec = ExposureSpec(site="tst", inst="cam", number=1 + index, files="j", seed=100 + index,
                            camera=camera, date_obs=WHEN, frame=field, smartstack=("1", index, 3),
                            ra=10.685, dec=41.269)
        with Image.open(io.BytesIO(make_exposure(spec).products[0].data)) as picture:
            jpgs.append(np.asarray(picture, dtype=np.float64))
    # the sky's grain (pixel to pixel differences) shrinks as the stack deepens
    grain = [np.std(np.diff(jpg, axis=1)[jpg[:, 1:] < np.percentile(jpg, 60)]) for jpg in jpgs]
    assert grain[0] > grain[1] > grain[2]


@pytest.mark.parametrize("seeing", [2.0, 4.0])
@pytest.mark.parametrize("camera", [SQ4K, SQ1K], ids=lambda c: c.name)
def test_header_fwhm_and_star_count_are_measured_from_the_stars_drawn(camera, seeing: float) -> None:  # type: ignore[no-untyped-def]
    exposure = make_exposure(ExposureSpec(site="tst", inst="cam", number=1, files="hF", seed=9,
                                          camera=camera, date_obs=WHEN,
                                          frame=FrameSpec(seeing_fwhm=seeing)))
    header = exposure.header
    # what a star of that seeing looks like once binned into pixels
    pixelated = np.hypot(seeing / camera.pixel_scale, 2.3548 / 12**0.5) * camera.pixel_scale
    assert header["FWHMASEC"] == pytest.approx(pixelated, rel=0.08)
    assert header["FWHMPIX"] == pytest.approx(header["FWHMASEC"] / camera.pixel_scale, rel=1e-3)
    assert 0 <= header["FWHMSTD"] < 0.15 * header["FWHMASEC"]
    frame = make_frame(FrameSpec(seeing_fwhm=seeing), camera, seed=9)
    data = frame.pixels.astype(np.float64)
    background = sep.Background(data)
    sep.set_extract_pixstack(2_000_000)
    # the site's threshold on a source's peak: max(3 sigma of the sky, 200 ADU x pixel scale)
    # on the peak pixel, less the camera's hot pixels, which the site's profile fit rejects
    threshold = max(3.0 * background.globalrms, 200.0 * camera.pixel_scale)
    found = sep.extract(data - background.back(), threshold, minarea=1, filter_kernel=None)
    hot = set(fixed_pattern(camera).hot_index.tolist())
    peaks = found["ypeak"].astype(int) * camera.width + found["xpeak"].astype(int)
    stars = sum(1 for peak in peaks.tolist() if peak not in hot)
    assert 0.85 * stars < header["NSTARS"] < 1.15 * stars


def test_image_statistics_are_the_pixels_own() -> None:
    exposure = make_exposure(ExposureSpec(site="tst", inst="cam", number=1, files="hF", seed=3,
                                          camera=SQ1K, date_obs=WHEN))
    header = exposure.header
    pixels = draw_frame(ExposureSpec(site="tst", inst="cam", number=1, files="hF", seed=3, camera=SQ1K,
                                     date_obs=WHEN))[0].pixels
    assert header["MEASURED"] == "pixels"
    assert header["IMGMIN"] == pixels.min() and header["IMGMAX"] == pixels.max()
    assert header["IMGMED"] == pytest.approx(np.median(pixels), abs=1)
    assert header["IMGMEAN"] == pytest.approx(pixels.mean(), rel=0.01)
    assert header["IMGSTDEV"] == pytest.approx(pixels.std(), rel=0.1)
    mad = np.median(np.abs(pixels - np.median(pixels)))
    assert header["IMGMAD"] == pytest.approx(mad, abs=1)
    values, counts = np.unique(pixels, return_counts=True)
    # the peak of a noisy histogram wanders by a few ADU however it is sampled
    assert abs(header["IMGMODE"] - int(values[np.argmax(counts)])) <= 0.25 * mad
    assert header["SEPSKY"] == pytest.approx(header["IMGMODE"] - SQ1K.bias_level)
