"""What a user of synth would notice: the frames look and measure like a real camera's."""

from __future__ import annotations

import numpy as np
import pytest
import sep
from astropy.table import Table

from send_test_images.errors import UsageError
from send_test_images.exposure.profiles import get_camera
from send_test_images.exposure.synth import FRAME_KINDS, Frame, FrameSpec, make_frame

SMALL = get_camera("sq768")
STARS = get_camera("sq1k")
DETECT_SIGMA = 5.0
MATCH_RADIUS = 0.5  # pixels


def extract(pixels: np.ndarray, thresh: float = DETECT_SIGMA) -> np.ndarray:
    """Sources an independent extractor (SExtractor's library) finds above the local sky."""
    data = np.ascontiguousarray(pixels, dtype=np.float64)
    background = sep.Background(data)
    sep.set_extract_pixstack(2_000_000)
    return sep.extract(data - background.back(), thresh, err=background.globalrms, minarea=5)


@pytest.mark.parametrize("kind", FRAME_KINDS)
def test_every_kind_is_uint16_of_the_camera_size_within_the_adc_range(kind: str) -> None:
    frame = make_frame(FrameSpec(kind=kind), SMALL, seed=1)
    assert isinstance(frame, Frame)
    assert frame.pixels.dtype == np.uint16
    assert frame.pixels.shape == (SMALL.height, SMALL.width)
    assert frame.pixels.max() <= SMALL.saturation
    assert frame.pixels.min() > 0  # the bias pedestal keeps noise off the floor


@pytest.mark.parametrize("kind", FRAME_KINDS)
def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(kind: str) -> None:
    spec = FrameSpec(kind=kind, cosmic_rays=True, satellite=True)
    first = make_frame(spec, SMALL, seed=7)
    again = make_frame(spec, SMALL, seed=7)
    other = make_frame(spec, SMALL, seed=8)
    assert first.pixels.tobytes() == again.pixels.tobytes()
    assert first.params == again.params
    assert first.pixels.tobytes() != other.pixels.tobytes()


def test_frames_do_not_touch_the_global_random_state() -> None:
    np.random.seed(3)
    expected = np.random.random()
    np.random.seed(3)
    make_frame(FrameSpec(), SMALL, seed=1)
    assert np.random.random() == expected


def test_a_bias_has_no_stars_and_sits_at_the_bias_level() -> None:
    frame = make_frame(FrameSpec(kind="bias"), STARS, seed=2)
    pixels = frame.pixels.astype(np.float64)
    assert abs(np.median(pixels) - STARS.bias_level) < 5
    read_noise_adu = STARS.read_noise / STARS.gain
    column_free = pixels - np.median(pixels, axis=0)  # what a master bias would remove
    assert np.std(column_free) == pytest.approx(read_noise_adu, rel=0.1)
    assert len(extract(column_free)) == 0
    assert len(frame.truth) == 0
    assert frame.params["exptime"] == 0.0


def test_a_flat_is_half_to_two_thirds_of_full_well_and_has_no_stars() -> None:
    frame = make_frame(FrameSpec(kind="flat"), STARS, seed=3)
    electrons = (frame.pixels.astype(np.float64) - STARS.bias_level) * STARS.gain
    assert 0.45 <= electrons.mean() / STARS.full_well <= 0.7
    assert len(extract(frame.pixels)) == 0
    assert len(frame.truth) == 0


def test_dark_level_grows_with_exposure_time() -> None:
    levels = [
        np.mean(make_frame(FrameSpec(kind="dark", exptime=t), STARS, seed=4).pixels, dtype=float)
        for t in (10.0, 300.0, 1200.0)
    ]
    assert levels[0] < levels[1] < levels[2]
    expected = STARS.dark_current * (1200.0 - 300.0) / STARS.gain
    assert levels[2] - levels[1] == pytest.approx(expected, rel=0.3)


def test_hot_pixels_sit_in_the_same_place_in_frames_with_different_seeds() -> None:
    spec = FrameSpec(kind="dark", exptime=300.0)
    hot = []
    for seed in (10, 11):
        pixels = make_frame(spec, STARS, seed=seed).pixels.astype(np.float64)
        hot.append(set(np.flatnonzero(pixels > np.median(pixels) + 200)))
    assert len(hot[0]) >= 10
    assert len(hot[0] & hot[1]) >= 0.9 * len(hot[0] | hot[1])


def test_a_flat_divides_out_of_another_flat_because_the_pattern_is_fixed() -> None:
    flats = [
        make_frame(FrameSpec(kind="flat"), STARS, seed=s).pixels.astype(np.float64)
        - STARS.bias_level
        for s in (20, 21)
    ]
    ratio = flats[0] / flats[1]
    ratio /= np.median(ratio)
    level = flats[0] / np.median(flats[0])
    # vignetting, dust, PRNU and the bad column vanish from the ratio; only shot noise is left
    assert np.std(ratio) < 0.5 * np.std(level)
    shot = np.sqrt(2.0 / (np.median(flats[0]) * STARS.gain))
    assert np.std(ratio) == pytest.approx(shot, rel=0.25)


def test_the_brightest_stars_clip_at_the_camera_saturation() -> None:
    frame = make_frame(FrameSpec(), STARS, seed=5)
    truth = frame.truth
    assert truth["saturated"].any()
    brightest = truth[np.argmax(truth["flux"])]
    row, col = round(brightest["y"]), round(brightest["x"])
    assert frame.pixels[row, col] == STARS.saturation
    assert frame.pixels.max() == STARS.saturation
    faint = truth[~truth["saturated"]]
    rows, cols = np.rint(faint["y"]).astype(int), np.rint(faint["x"]).astype(int)
    assert (frame.pixels[rows, cols] < STARS.saturation).mean() > 0.99


def test_an_independent_extractor_recovers_the_injected_stars() -> None:
    frame = make_frame(FrameSpec(), STARS, seed=6)
    found = extract(frame.pixels)
    strong = frame.truth[frame.truth["snr"] > 20]
    assert len(strong) >= 100
    distance = np.hypot(
        strong["x"][:, None] - found["x"][None, :], strong["y"][:, None] - found["y"][None, :]
    ).min(axis=1)
    assert (distance < MATCH_RADIUS).mean() >= 0.9


def test_many_faint_stars_and_few_bright_ones() -> None:
    mag = make_frame(FrameSpec(), STARS, seed=6).truth["mag"]
    bright, faint = np.sum(mag < 14), np.sum((mag >= 16) & (mag < 18))
    assert 0 < bright < faint / 5


def test_a_catalogue_brought_by_the_user_is_drawn_where_it_says() -> None:
    catalogue = Table({"x": [100.3, 500.75, 800.0], "y": [200.6, 510.2, 90.45],
                       "flux": [2e4, 5e4, 3e4]})
    frame = make_frame(FrameSpec(), STARS, seed=7, star_table=catalogue)
    assert list(frame.truth["x"]) == list(catalogue["x"])
    found = extract(frame.pixels)
    assert np.sum(found["npix"] > 12) == len(catalogue)  # the rest are single hot pixels
    for x, y in zip(catalogue["x"], catalogue["y"], strict=True):
        assert np.hypot(found["x"] - x, found["y"] - y).min() < 0.1


def test_sky_noise_is_shot_noise_plus_read_noise() -> None:
    frame = make_frame(FrameSpec(star_density=0.0, clouds=0.0), STARS, seed=13)
    assert len(frame.truth) == 0
    pixels = frame.pixels.astype(np.float64)
    electrons = (np.median(pixels) - STARS.bias_level) * STARS.gain
    expected = np.sqrt(electrons + STARS.read_noise**2) / STARS.gain
    # neighbouring-pixel differences cancel the smooth sky, vignetting and column pattern;
    # the median absolute deviation ignores the few hot pixels
    diff = np.diff(pixels, axis=0)
    measured = 1.4826 * np.median(np.abs(diff - np.median(diff))) / np.sqrt(2)
    assert measured == pytest.approx(expected, rel=0.05)


def test_narrowband_sky_is_much_darker_than_broadband() -> None:
    def sky(filter_name: str) -> float:
        pixels = make_frame(FrameSpec(filter=filter_name), STARS, seed=8).pixels
        return float(np.median(pixels)) - STARS.bias_level

    assert sky("Ha") < sky("L") / 5


def test_sky_level_scales_with_exposure_time() -> None:
    def sky(exptime: float) -> float:
        frame = make_frame(FrameSpec(exptime=exptime), SMALL, seed=9)
        return float(np.median(frame.pixels)) - SMALL.bias_level

    assert sky(120.0) == pytest.approx(4 * sky(30.0), rel=0.1)


def test_the_perlin_image_is_smooth_blobs_in_a_realistic_adu_range() -> None:
    frame = make_frame(FrameSpec(image="perlin"), SMALL, seed=10)
    pixels = frame.pixels.astype(np.float64)
    assert len(frame.truth) == 0
    assert SMALL.bias_level + 500 < pixels.min() and pixels.max() < SMALL.saturation
    blocks = pixels.reshape(24, 32, 24, 32).mean(axis=(1, 3))
    assert np.std(blocks) > 20 * np.std(np.diff(pixels, axis=1)) / np.sqrt(2 * 32 * 32)


def test_cosmic_rays_and_a_satellite_are_added_when_asked() -> None:
    frame = make_frame(FrameSpec(exptime=600.0, cosmic_rays=True, satellite=True), STARS, seed=11)
    assert frame.params["cosmic_rays"] > 0
    assert frame.params["satellite"] == 1
    elongation = [o["a"] / o["b"] for o in extract(frame.pixels) if o["npix"] > 500]
    assert max(elongation, default=0.0) > 20  # the trail: one long thin object


def test_params_hold_plain_values_for_the_header() -> None:
    params = make_frame(FrameSpec(), SMALL, seed=12).params
    for key in ("kind", "image", "seed", "exptime", "filter", "seeing_fwhm", "sky_brightness",
                "gain", "read_noise", "n_stars", "pattern_seed", "cosmic_rays", "satellite"):
        assert key in params
    assert all(isinstance(v, int | float | str) for v in params.values())


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (FrameSpec(kind="science"), r"frame kind 'science' is not allowed: use one of light, bias"),
        (FrameSpec(image="noise"), r"image 'noise' is not allowed: use one of sky, perlin"),
        (FrameSpec(filter="OIII"), r"filter for camera sq768 'OIII' is not allowed: use one of L"),
        (FrameSpec(exptime=-1.0), r"exposure time -1.0 is not allowed: use a number >= 0"),
        (FrameSpec(exptime=0.0), r"exposure time 0.0 is not allowed for a light: use > 0 s"),
        (FrameSpec(exptime=float("nan")), r"exposure time nan is not allowed"),
        (FrameSpec(seeing_fwhm=0.0), r"seeing FWHM 0.0 is not allowed: use a number >= 0.05"),
        (FrameSpec(sky_brightness=40.0), r"sky brightness 40.0 is not allowed: .* <= 30"),
        (FrameSpec(flat_level=1.5), r"flat level 1.5 is not allowed"),
        (FrameSpec(cosmic_rays="yes"), r"cosmic_rays 'yes' is not allowed: use True or False"),  # type: ignore[arg-type]
    ],
)
def test_bad_values_are_refused_with_a_message_naming_them(spec: FrameSpec, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        make_frame(spec, SMALL, seed=0)


def test_a_star_table_without_flux_is_refused() -> None:
    with pytest.raises(UsageError, match=r"star table column 'flux' is missing"):
        make_frame(FrameSpec(), SMALL, seed=0, star_table=Table({"x": [1.0], "y": [2.0]}))
