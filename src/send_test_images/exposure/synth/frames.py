"""One exposure of each kind, assembled from sky, stars and detector in the order light takes.

Electrons first (sky and stars through the optics' response, then dark current, cosmic rays),
then noise, then gain, bias and the ADC. One generator made from the frame seed drives
everything random in the frame; the camera's fixed pattern has its own seed (detector.py).
"""

from __future__ import annotations

import math

import numpy as np
from astropy.table import Table

from send_test_images.exposure.profiles import CameraProfile
from send_test_images.exposure.synth import detector, stars
from send_test_images.exposure.synth.perlin import Enlargement, enlargement, make_perlin_image
from send_test_images.exposure.synth.psf import PSF_MODEL, core_sigma
from send_test_images.exposure.synth.sky import ZEROPOINTS, skip_sky, sky_electrons, sky_grid
from send_test_images.exposure.synth.spec import (
    Frame,
    FrameSketch,
    FrameSpec,
    check_spec,
    sky_brightness_for,
)

SYNTH_VERSION = 4  # bump when the same seed and spec would draw different pixels
# 2: PSF wings, bleed trails, fewer and fainter dust donuts, column pattern below the read noise
# 3: star stamps from tabulated pixel fractions (a few 1e-6 of a star's flux from version 2)
# 4: stars drawn first and the sky added to them, read-out's dark current in its offsets
#    (the same values, summed in another order: pixels differ from version 3 by rounding)
DEFAULT_FLAT_JITTER = 0.03  # twilight changes while flats are taken: relative level RMS


def make_frame(
    spec: FrameSpec,
    camera: CameraProfile,
    *,
    seed: int,
    star_table: Table | None = None,
    placed: stars.PlacedStars | None = None,
    keep_expected: bool = False,
) -> Frame:
    """Draw one exposure. Same spec, camera and seed give byte-identical pixels.

    `star_table` (columns x, y, flux in e-) replaces the random star field of a light, for
    users who bring their own catalogue; it is ignored for other kinds and perlin images.
    `placed` are stars from the real sky (sky/field.py: catalogue stars through the header WCS):
    the random field is then drawn only fainter than `placed.limit`. Synth knows nothing of the
    sky, so without `placed` every star is synthetic, whatever `spec.stars` says.
    `keep_expected` also returns the noiseless frame (float32 ADU) in `Frame.expected`, which a
    smartstack's running-stack preview needs; it costs one more frame of memory, so only then.
    """
    check_spec(spec, camera)
    rng = np.random.default_rng(seed)
    pattern = detector.fixed_pattern(camera)
    exptime = _exptime(spec)
    params = _recipe_params(spec, camera, seed)
    params.update(hot_pixels=int(pattern.hot_index.size), bad_column=int(pattern.bad_column))
    shape = (camera.height, camera.width)
    if spec.kind == "light":
        signal, truth = _light(spec, camera, rng, params, star_table, placed)
    else:
        # an astropy Table costs ~1 ms to build: only frames without stars take the empty one
        truth = stars.empty_table()
        signal = _flat(spec, camera, rng, params) if spec.kind == "flat" else np.zeros(shape, dtype=np.float32)
    detector.add_hot_pixels(signal, pattern, exptime)
    cosmic = detector.add_cosmic_rays(signal, rng, exptime) if spec.cosmic_rays else 0
    params["cosmic_rays"] = cosmic
    expected = np.empty(shape, dtype=np.float32) if keep_expected else None
    pixels = detector.read_out(signal, camera, pattern, rng, exptime=exptime, expected=expected)
    return Frame(pixels=pixels, truth=truth, params=params, expected=expected)


def _light(
    spec: FrameSpec,
    camera: CameraProfile,
    rng: np.random.Generator,
    params: dict[str, float | int | str],
    star_table: Table | None,
    placed: stars.PlacedStars | None,
) -> tuple[np.ndarray, Table]:
    shape = (camera.height, camera.width)
    sigma, sky_level = _light_params(spec, camera, params)
    sky: Enlargement | None = None
    if spec.image == "perlin":
        signal = make_perlin_image(shape, rng, camera.full_well)
        truth = stars.empty_table()
    else:
        sky = enlargement(sky_grid(shape, sky_level, rng, clouds=spec.clouds), shape)
        signal = np.zeros(shape, dtype=np.float32)  # the stars' light; the sky joins it in _expose
        params["clouds"] = float(spec.clouds)
        noise_floor = _noise_floor(spec, camera, sky_level)
        if star_table is None:
            star_table = _star_field(spec, camera, rng, params, sigma, noise_floor, placed)
        peak_fraction, sum_p2 = stars.render_stars(signal, star_table, sigma)
        truth = stars.make_truth(
            star_table, peak_fraction, sum_p2, camera,
            filter_name=spec.filter, exptime=spec.exptime, background=sky_level,
            noise_floor=noise_floor, response=detector.fixed_pattern(camera).response,
        )
        params["n_stars"] = len(truth)
    if spec.satellite:
        detector.add_satellite(signal, rng, sigma)
    over = _expose(signal, sky, detector.fixed_pattern(camera).response, camera.full_well)
    if len(truth):
        rows, cols = _centres(truth, shape)
        full = signal[rows, cols] > np.float32(camera.full_well)
        params["bleed_columns"] = detector.add_bleed(signal, camera.full_well, rows[full], cols[full], over=over)
    return signal, truth


def _expose(signal: np.ndarray, sky: Enlargement | None, response: np.ndarray, full_well: float) -> np.ndarray:
    """The sky added to `signal` (the stars' light) and both through the optics' `response`,
    in place, a band of rows at a time; returns the flat indices of the pixels over
    `full_well`, where add_bleed starts.

    Each band's sky is drawn into a buffer still in the CPU cache and the band is added,
    scaled and searched while it is there: enlarging the whole sky first (even from C-ordered
    rows), then scaling and searching the whole frame cost 0.94 ms at 768² against 0.72 ms.
    """
    height, width = signal.shape
    rows = max(1, detector.DEFAULT_BLOCK_PIXELS // width)
    buffer = np.empty((min(rows, height), width), dtype=np.float32)
    well = np.float32(full_well)
    over = []
    for top in range(0, height, rows):
        band = signal[top : top + rows]
        if sky is not None:
            band += sky.band(top, buffer[: band.shape[0]])
        band *= response[top : top + rows]
        over.append(np.flatnonzero(band > well) + top * width)
    return np.concatenate(over)


def sketch_frame(
    spec: FrameSpec, camera: CameraProfile, *, seed: int, placed: stars.PlacedStars | None = None
) -> FrameSketch:
    """What `make_frame(spec, camera, seed=seed, placed=placed)` would draw, without drawing a pixel.

    A header sent alone (`-f h`) needs the frame's star list and levels, not its pixels: the
    generator makes the same draws as make_frame up to the star table (the sky's gradients,
    the twilight level of a flat), so the stars are the ones the pixels would hold; each
    star's peak comes from the PSF at its sub-pixel position instead of a rendered stamp. The
    frame's pixels stay exactly what make_frame gives for this seed: nothing here changes it.
    """
    check_spec(spec, camera)
    rng = np.random.default_rng(seed)
    params = _recipe_params(spec, camera, seed)
    shape = (camera.height, camera.width)
    truth = None
    if spec.kind == "light":
        sigma, sky_level = _light_params(spec, camera, params)
        if spec.image == "sky":
            skip_sky(rng)  # the sky's draws, not its pixels
            params["clouds"] = float(spec.clouds)
            noise_floor = _noise_floor(spec, camera, sky_level)
            star_table = _star_field(spec, camera, rng, params, sigma, noise_floor, placed)
            peak_fraction, sum_p2 = stars.expected_peaks(star_table, sigma)
            truth = stars.make_truth(
                star_table, peak_fraction, sum_p2, camera,
                filter_name=spec.filter, exptime=spec.exptime, background=sky_level,
                noise_floor=noise_floor, response=np.broadcast_to(np.float32(1.0), shape),
            )
            params["n_stars"] = len(truth)
    elif spec.kind == "flat":
        _flat_level(spec, camera, rng, params)
    return FrameSketch(shape=shape, truth=stars.empty_table() if truth is None else truth, params=params)


def _exptime(spec: FrameSpec) -> float:
    return 0.0 if spec.kind == "bias" else float(spec.exptime)


def _recipe_params(spec: FrameSpec, camera: CameraProfile, seed: int) -> dict[str, float | int | str]:
    """The parameters every frame records before anything is drawn."""
    return {
        "synth_version": SYNTH_VERSION,
        "kind": spec.kind,
        "image": spec.image,
        "seed": int(seed),
        "camera": camera.name,
        "exptime": _exptime(spec),
        "filter": spec.filter,
        "gain": float(camera.gain),
        "read_noise": float(camera.read_noise),
        "bias_level": int(camera.bias_level),
        "dark_current": float(camera.dark_current),
        "saturation": int(camera.saturation),
        "pattern_seed": detector.pattern_seed(camera),
    }


def _light_params(
    spec: FrameSpec, camera: CameraProfile, params: dict[str, float | int | str]
) -> tuple[float, float]:
    """The PSF's core sigma (pixels) and the sky level (e-) of a light, recorded in `params`."""
    seeing_px = spec.seeing_fwhm / camera.pixel_scale
    sky_mag = sky_brightness_for(spec)
    sky_level = sky_electrons(sky_mag, spec.filter, camera.pixel_scale, spec.exptime)
    params.update(
        seeing_fwhm=float(spec.seeing_fwhm),
        seeing_px=round(seeing_px, 4),
        psf=PSF_MODEL,
        sky_brightness=float(sky_mag),
        sky_level=round(sky_level, 3),
        zeropoint=ZEROPOINTS[spec.filter],
        satellite=int(spec.satellite),
    )
    return core_sigma(seeing_px), sky_level


def _noise_floor(spec: FrameSpec, camera: CameraProfile, sky_level: float) -> float:
    """Per-pixel variance (e-^2) under a star: sky, dark current and read noise."""
    return sky_level + camera.dark_current * spec.exptime + camera.read_noise**2


def _star_field(
    spec: FrameSpec,
    camera: CameraProfile,
    rng: np.random.Generator,
    params: dict[str, float | int | str],
    sigma: float,
    noise_floor: float,
    placed: stars.PlacedStars | None,
) -> Table:
    """The star table: random (from the smartstack's field seed when it has one), fainter than
    the real sky's `placed` stars when there are some, with those stars added."""
    field_rng = rng if spec.field_seed is None else np.random.default_rng(spec.field_seed)
    table = stars.make_star_table(
        (camera.height, camera.width), field_rng,
        area_deg2=camera.width * camera.height * (camera.pixel_scale / 3600.0) ** 2,
        filter_name=spec.filter,
        exptime=spec.exptime,
        density=spec.star_density,
        faint_flux=stars.faint_limit(noise_floor, sigma),
        brightest_mag=stars.DEFAULT_BRIGHTEST_MAG if placed is None else placed.limit,
    )
    params["star_density"] = float(spec.star_density)
    if spec.field_seed is not None:
        params["field_seed"] = int(spec.field_seed)
    if placed is not None:
        table = stars.with_placed(table, placed, filter_name=spec.filter, exptime=spec.exptime)
        params.update(stars="catalogue", catalogue=placed.source, catalogue_stars=int(placed.ids.size),
                      catalogue_limit=round(float(placed.limit), 3))
    return table


def _centres(truth: Table, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    rows = np.clip(np.rint(np.asarray(truth["y"], dtype=float)).astype(np.intp), 0, shape[0] - 1)
    cols = np.clip(np.rint(np.asarray(truth["x"], dtype=float)).astype(np.intp), 0, shape[1] - 1)
    return rows, cols


def _flat(spec: FrameSpec, camera: CameraProfile, rng: np.random.Generator,
          params: dict[str, float | int | str]) -> np.ndarray:
    level = _flat_level(spec, camera, rng, params)
    signal = np.full((camera.height, camera.width), level, dtype=np.float32)
    signal *= detector.fixed_pattern(camera).response
    return signal


def _flat_level(spec: FrameSpec, camera: CameraProfile, rng: np.random.Generator,
                params: dict[str, float | int | str]) -> float:
    """This flat's level (e- at the optical centre): twilight fades while flats are taken."""
    level = spec.flat_level * camera.full_well * math.exp(rng.normal(0.0, DEFAULT_FLAT_JITTER))
    params["flat_level"] = round(level, 1)
    return level
