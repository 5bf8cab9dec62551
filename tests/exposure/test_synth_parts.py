"""The pieces of synth on their own: PSF, noise field, star table, fixed pattern."""

from __future__ import annotations

import math

import numpy as np
import pytest
from astropy.table import Table

from send_test_images.exposure.profiles import get_camera
from send_test_images.exposure.synth import FrameSpec, make_frame, make_star_table
from send_test_images.exposure.synth.detector import add_bleed, fixed_pattern, read_out, standard_normal
from send_test_images.exposure.synth.frames import _expose
from send_test_images.exposure.synth.perlin import enlargement, fractal_noise, upsample
from send_test_images.exposure.synth.psf import PSF_COMPONENTS, core_sigma, erf
from send_test_images.exposure.synth.sky import sky_grid
from send_test_images.exposure.synth.stars import render_stars


def test_erf_matches_the_standard_library() -> None:
    x = np.linspace(-4, 4, 801)
    assert np.abs(erf(x) - np.array([math.erf(v) for v in x])).max() < 2e-7


def test_the_psf_has_the_requested_fwhm() -> None:
    fwhm = 3.0
    sigma = core_sigma(fwhm)

    def profile(r: float) -> float:
        return sum(w / (k * sigma) ** 2 * math.exp(-0.5 * (r / (k * sigma)) ** 2)
                   for w, k in PSF_COMPONENTS)

    assert profile(fwhm / 2) == pytest.approx(profile(0.0) / 2, rel=1e-6)


@pytest.mark.parametrize(("x", "y"), [(20.0, 20.0), (20.3, 19.8), (19.5, 20.45), (20.49, 20.01)])
def test_an_undersampled_star_keeps_its_sub_pixel_centre_and_its_flux(x: float, y: float) -> None:
    image = np.zeros((41, 41), dtype=np.float32)
    render_stars(image, Table({"x": [x], "y": [y], "flux": [1e5]}), core_sigma(1.5))
    rows, cols = np.indices(image.shape)
    total = image.sum(dtype=np.float64)
    assert total == pytest.approx(1e5, rel=1e-3)
    assert (image * cols).sum(dtype=np.float64) / total == pytest.approx(x, abs=0.01)
    assert (image * rows).sum(dtype=np.float64) / total == pytest.approx(y, abs=0.01)


@pytest.mark.parametrize("flux", [300.0, 1e5, 1e8])
def test_a_stars_peak_and_noise_area_are_those_of_the_stamp_drawn(flux: float) -> None:
    # the truth table's peak and SNR come from what render_stars reports, not from the pixels
    image = np.zeros((401, 401), dtype=np.float32)
    peak, sum_p2 = render_stars(image, Table({"x": [200.3], "y": [199.8], "flux": [flux]}), core_sigma(2.0))
    drawn = image.astype(np.float64) / flux
    assert peak[0] == pytest.approx(drawn.max(), rel=1e-5)
    assert sum_p2[0] == pytest.approx(np.square(drawn).sum(), rel=1e-4)


def test_charge_above_full_well_bleeds_along_its_column_and_is_kept() -> None:
    well, sky = 1000.0, 100.0
    signal = np.full((200, 60), sky, dtype=np.float32)
    signal[95:105, 20:23] = 5000.0  # one star ...
    signal[150:152, 21] = 3000.0  # ... and another lower in one of its columns
    signal[2:4, 40] = 50000.0  # a third near the edge: part of its charge runs off the sensor
    before = signal.sum(dtype=np.float64)
    lost_off_edge = 2 * (50000.0 - well) / 2 - 2 * (well - sky)  # half goes down: 2 rows of room
    bled = add_bleed(signal, well, np.array([100, 151, 3]), np.array([21, 21, 40]))
    assert bled == 5
    assert signal.max() == np.float32(well)
    assert signal.sum(dtype=np.float64) == pytest.approx(before - lost_off_edge, rel=1e-6)
    full = signal[:, 20] >= well
    # 10 saturated rows with 4000 e- over the well each: 20000 e- per side fills 22 rows of 900
    assert np.flatnonzero(full).tolist() == list(range(95 - 22, 105 + 22))
    assert signal[:, 40].tolist()[:2] == [well, well]


def test_each_star_bleeds_the_columns_with_charge_over_the_well_near_it_in_order() -> None:
    from send_test_images.exposure.synth.detector import DEFAULT_BLEED_BOX, _bleed_tasks

    rng = np.random.default_rng(11)
    height, width = 300, 200
    over = np.flatnonzero(rng.random(height * width) < 0.002)
    rows, cols = rng.integers(0, height, 40), rng.integers(0, width, 40)
    over_rows, over_cols = np.divmod(over, width)
    expected = [(int(row), column) for row, col in zip(rows, cols, strict=True)
                for column in sorted({int(c) for r, c in zip(over_rows, over_cols, strict=True)
                                      if abs(r - row) <= DEFAULT_BLEED_BOX and abs(c - col) <= DEFAULT_BLEED_BOX})]
    assert [tuple(task) for task in _bleed_tasks(over, rows, cols, height, width).tolist()] == expected


def test_a_sky_exposed_past_full_well_is_drawn_not_a_memory_error() -> None:
    # at 3000 s every sq768 pixel is over full well, under ~23,000 saturated stars: pairing each
    # star with each over-full pixel asked for 100 GiB
    camera = get_camera("sq768")
    frame = make_frame(FrameSpec(exptime=3000, stars="synthetic"), camera, seed=3)
    assert (frame.pixels >= camera.saturation).all()
    assert frame.params["bleed_columns"] > 0


def test_a_star_on_the_edge_is_cut_not_wrapped() -> None:
    image = np.zeros((60, 30), dtype=np.float32)
    sigma = core_sigma(3.0)
    render_stars(image, Table({"x": [0.0], "y": [30.0], "flux": [1e4]}), sigma)
    assert image[:, -5:].max() == 0
    # exactly the right-hand part of the same star drawn whole in a wider frame (the PSF's
    # faint wide wing is cut at the stamp edge either way, so no closed form says this)
    wide = np.zeros((60, 60), dtype=np.float32)
    render_stars(wide, Table({"x": [30.0], "y": [30.0], "flux": [1e4]}), sigma)
    assert np.allclose(image, wide[:, 30:], atol=1e-3)
    assert image.sum(dtype=np.float64) > 0.5 * wide.sum(dtype=np.float64)


def test_fractal_noise_is_seeded_bounded_and_centred() -> None:
    first = fractal_noise((128, 128), np.random.default_rng(1))
    again = fractal_noise((128, 128), np.random.default_rng(1))
    other = fractal_noise((128, 128), np.random.default_rng(2))
    assert first.dtype == np.float32
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert np.abs(first).max() <= 1.0
    assert abs(first.mean()) < 0.2


def test_upsample_keeps_a_ramp_a_ramp() -> None:
    grid = np.tile(np.arange(16, dtype=np.float32), (8, 1))
    big = upsample(grid, (64, 128))
    assert big.shape == (64, 128) and big.dtype == np.float32
    inner = big[:, 8:-8]
    assert np.allclose(np.diff(inner, axis=1), 16 / 128)
    assert np.allclose(inner, inner[0])


@pytest.mark.parametrize(("grid_shape", "shape"), [((64, 64), (768, 768)), ((4, 5), (48, 20)), ((64, 64), (1000, 1000)),
                                                    ((8, 8), (24, 24)), ((5, 3), (10, 9))])
def test_upsample_is_the_same_bilinear_enlargement_whatever_the_factor(
    grid_shape: tuple[int, int], shape: tuple[int, int]
) -> None:
    # every output row is its two coarse rows weighted, whatever the factor and however the
    # rows are banded: the pixels, and so every frame's bytes, depend on it
    from send_test_images.exposure.synth.perlin import _interp_index

    grid = np.random.default_rng(sum(shape)).random(grid_shape, dtype=np.float32)
    across = upsample(grid, (grid_shape[0], shape[1]))  # no enlargement down the rows
    padded = np.concatenate([across, across[-1:]], axis=0)
    y0, wy = _interp_index(grid_shape[0], shape[0])
    expected = np.stack([padded[row] + (padded[row + 1] - padded[row]) * weight
                         for row, weight in zip(y0, wy, strict=True)])
    assert np.array_equal(upsample(grid, shape), expected)


@pytest.mark.parametrize(("grid_shape", "shape", "band"), [((64, 64), (768, 768), 170), ((4, 5), (48, 20), 7),
                                                            ((64, 64), (1000, 1000), 131), ((5, 3), (10, 9), 1)])
def test_an_enlargement_drawn_band_by_band_is_the_whole_one(
    grid_shape: tuple[int, int], shape: tuple[int, int], band: int
) -> None:
    # a frame adds its sky a band of rows at a time: every band must hold upsample's values
    grid = np.random.default_rng(sum(shape)).random(grid_shape, dtype=np.float32)
    plan = enlargement(grid, shape)
    out = np.empty(shape, dtype=np.float32)
    for top in range(0, shape[0], band):
        plan.band(top, out[top : top + band])
    assert np.array_equal(out, upsample(grid, shape))


def test_sky_and_stars_through_the_response_band_by_band_are_those_drawn_whole() -> None:
    # version 4 adds the sky to the stars (version 3: the stars to the sky), band by band: the
    # same electrons to float32 rounding, and the pixels over full well are all found
    shape, level, well = (700, 768), 800.0, 50_000.0
    stars = np.zeros(shape, dtype=np.float32)
    table = Table({"x": [100.2, 400.7, 767.0, 30.0], "y": [50.5, 350.1, 699.0, 600.0],
                   "flux": [2e6, 3e4, 5e5, 900.0]})
    render_stars(stars, table, 1.5)
    response = fixed_pattern(get_camera("sq1k", width=shape[1], height=shape[0])).response
    whole = (upsample(sky_grid(shape, level, np.random.default_rng(3), clouds=0.3), shape) + stars) * response
    signal = stars.copy()
    over = _expose(signal, enlargement(sky_grid(shape, level, np.random.default_rng(3), clouds=0.3), shape),
                   response, well)
    assert np.allclose(signal, whole, rtol=1e-6, atol=0)
    assert over.size > 0 and np.array_equal(over, np.flatnonzero(signal > np.float32(well)))


def _read_out_version_3(signal: np.ndarray, camera_name: str, rng: np.random.Generator, exptime: float) -> np.ndarray:
    """read_out as SYNTH_VERSION 3 wrote it, one pass per step, the frame at once."""
    camera = get_camera(camera_name)
    pattern = fixed_pattern(camera)
    signal = signal + np.float32(camera.dark_current * exptime)
    drift = rng.normal(0.0, 2.0)
    offsets = pattern.bias_columns * np.float32(camera.read_noise / camera.gain) + np.float32(
        camera.bias_level + drift + 0.5)
    rows = max(1, (1 << 17) // camera.width)
    noise = np.concatenate([standard_normal(rng, signal[top : top + rows].shape)
                            for top in range(0, camera.height, rows)])
    sigma = np.sqrt(np.maximum(signal, np.float32(0)) + np.float32(camera.read_noise**2)) * noise
    adu = (signal + sigma) * np.float32(1.0 / camera.gain) + offsets
    adu[pattern.bad_column_start:, pattern.bad_column] += np.float32(3.0)
    return np.clip(adu, 0, camera.saturation).astype(np.uint16)


def test_read_out_draws_the_noise_of_version_3_in_fewer_passes() -> None:
    # same generator, same deviates, the same arithmetic regrouped: a pixel may move by one
    # ADU where its value sat on a rounding edge, and only a handful of them do
    camera = get_camera("sq768")
    signal = np.random.default_rng(1).uniform(0, camera.full_well, (camera.height, camera.width)).astype(np.float32)
    before = _read_out_version_3(signal, "sq768", np.random.default_rng(9), 60.0)
    after = read_out(signal.copy(), camera, fixed_pattern(camera), np.random.default_rng(9), exptime=60.0)
    moved = before.astype(np.int32) - after
    assert np.abs(moved).max() <= 1 and np.count_nonzero(moved) < 1e-3 * moved.size


def test_the_gaussian_table_is_the_bisection_of_every_quantile() -> None:
    # only the lower half is bisected now, the upper half mirrored: the deviates (and so every
    # frame's noise) must be exactly those of bisecting all 65536 quantiles
    from send_test_images.exposure.synth.detector import NORMAL_TABLE_SIZE, _normal_table

    p = (np.arange(NORMAL_TABLE_SIZE) + 0.5) / NORMAL_TABLE_SIZE
    low, high = np.full(p.shape, -8.0), np.full(p.shape, 8.0)
    for _ in range(32):
        mid = 0.5 * (low + high)
        below = 0.5 * (1.0 + erf(mid / np.sqrt(2.0))) < p
        low, high = np.where(below, mid, low), np.where(below, high, mid)
    assert np.array_equal(_normal_table(), (0.5 * (low + high)).astype(np.float32))


def test_gaussian_deviates_written_into_a_buffer_are_the_same() -> None:
    out = np.empty((300, 200), dtype=np.float32)
    into = standard_normal(np.random.default_rng(4), (300, 200), out=out)
    assert into is out and np.array_equal(out, standard_normal(np.random.default_rng(4), (300, 200)))


@pytest.mark.parametrize("flux", [np.random.default_rng(4).random(4000), np.array([3.0, 1.0, 3.0, 2.0, 1.0, 3.0])],
                         ids=["distinct", "ties"])
def test_stars_are_ranked_brightest_first_in_draw_order_among_equals(flux: np.ndarray) -> None:
    # the star order decides the order stamps are added, so the fast sort must give the stable one
    from send_test_images.exposure.synth.stars import brightest_first

    assert np.array_equal(brightest_first(flux), np.argsort(-flux, kind="stable"))


def test_star_counts_follow_the_density_and_fluxes_a_power_law() -> None:
    def table(density: float) -> Table:
        return make_star_table((1000, 1000), np.random.default_rng(3), area_deg2=0.2,
                               filter_name="L", exptime=30.0, density=density, faint_flux=500.0)

    sparse, dense = table(1000.0), table(4000.0)
    assert len(dense) == pytest.approx(4 * len(sparse), rel=0.15)
    flux = np.asarray(dense["flux"])
    assert flux.min() >= 500.0 and np.all(np.diff(flux) <= 0)
    # N(>F) ~ F^-0.75: ten times brighter, about 5.6 times fewer
    assert np.sum(flux > 5000) / np.sum(flux > 500) == pytest.approx(10**-0.75, rel=0.2)
    assert dense["x"].min() >= -0.5 and dense["x"].max() < 999.5


def test_the_fixed_pattern_belongs_to_the_sensor_not_to_its_settings() -> None:
    base = fixed_pattern(get_camera("sq768"))
    regained = fixed_pattern(get_camera("sq768", gain=3.0, read_noise=2.0))
    other = fixed_pattern(get_camera("sq1k", width=768, height=768))
    assert np.array_equal(base.hot_index, regained.hot_index)
    assert not np.array_equal(base.hot_index, other.hot_index)
    assert not base.response.flags.writeable


def test_fast_gaussian_deviates_are_standard_normal() -> None:
    x = standard_normal(np.random.default_rng(4), (1000, 1000))
    assert x.dtype == np.float32
    assert abs(x.mean()) < 0.005 and x.std() == pytest.approx(1.0, abs=0.005)
    two_sided_3_sigma = math.erfc(3 / math.sqrt(2))
    assert np.mean(np.abs(x) > 3) == pytest.approx(two_sided_3_sigma, rel=0.1)
