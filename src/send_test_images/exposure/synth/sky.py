"""How bright the sky and the stars are in electrons, and the smooth sky background itself.

One photometric zero point per filter sets both the sky and the stars, so a narrowband frame is
darker in both at once, the way a real one is. Numbers are typical for a 0.4 m telescope with a
modern CMOS camera at a dark site; they only need to be plausible, not calibrated.
"""

from __future__ import annotations

import numpy as np

from send_test_images.exposure.synth.perlin import coarse_shape, fractal_noise

ZEROPOINTS: dict[str, float] = {
    # magnitude of a source that gives 1 electron per second through the filter
    "L": 22.0, "R": 21.3, "G": 21.5, "B": 21.2,
    "Ha": 18.6, "OIII": 18.4, "SII": 18.3,
    "up": 20.0, "gp": 21.6, "rp": 21.4, "ip": 21.0, "zs": 20.2,
    "air": 22.3,
}

SKY_BRIGHTNESS: dict[str, float] = {
    # typical moonless dark-site sky, mag/arcsec^2, as seen through the filter
    "L": 20.8, "R": 20.6, "G": 21.3, "B": 21.8,
    "Ha": 20.6, "OIII": 21.2, "SII": 20.9,
    "up": 22.0, "gp": 21.8, "rp": 20.8, "ip": 20.3, "zs": 19.3,
    "air": 20.6,
}

DEFAULT_GRADIENT = 0.04  # peak-to-peak fraction of the sky level across the frame (light pollution)
DEFAULT_CLOUD_CELLS = 2  # largest cloud structure: half the frame
DEFAULT_CLOUD_OCTAVES = 4


def rate_for_magnitude(mag: float | np.ndarray, filter_name: str) -> float | np.ndarray:
    """Electrons per second from a source of magnitude `mag` seen through `filter_name`."""
    return 10.0 ** (-0.4 * (np.asarray(mag, dtype=np.float64) - ZEROPOINTS[filter_name]))


def sky_electrons(sky_brightness: float, filter_name: str, pixel_scale: float,
                  exptime: float) -> float:
    """Mean sky electrons in one pixel: surface brightness times pixel area times time."""
    return float(rate_for_magnitude(sky_brightness, filter_name)) * pixel_scale**2 * exptime


def sky_grid(
    shape: tuple[int, int],
    level: float,
    rng: np.random.Generator,
    *,
    clouds: float,
    gradient: float = DEFAULT_GRADIENT,
) -> np.ndarray:
    """A float32 sky in electrons on its coarse grid: `level` with a gentle linear gradient and
    thin clouds. It is smooth, so the frame enlarges it to `shape` only as it adds it, a band of
    rows at a time (perlin.enlargement).

    Clouds only ever add light (moonlight or city light scattered by thin cirrus) and the
    gradient has a random direction, so the mean stays close to `level`.
    """
    angle = rng.uniform(0.0, 2.0 * np.pi)
    grid = coarse_shape(shape, DEFAULT_CLOUD_CELLS, DEFAULT_CLOUD_OCTAVES)
    noise = fractal_noise(grid, rng, cells=DEFAULT_CLOUD_CELLS, octaves=DEFAULT_CLOUD_OCTAVES)
    yy = ((np.arange(grid[0], dtype=np.float32) + 0.5) / grid[0])[:, None]
    xx = ((np.arange(grid[1], dtype=np.float32) + 0.5) / grid[1])[None, :]
    tilt = (np.cos(angle) * (xx - 0.5) + np.sin(angle) * (yy - 0.5)) * gradient
    cirrus = np.clip(noise, 0.0, None) * np.float32(clouds)
    relative = (1.0 + tilt + cirrus - cirrus.mean()) * level
    return relative.astype(np.float32)


def skip_sky(rng: np.random.Generator) -> None:
    """Make exactly the draws `sky_grid` makes, without its pixels: they depend on nothing but
    the generator (the gradient's angle, each cloud octave's lattice of gradients), so a 1x1
    sky leaves `rng` where a full one would. A frame described without pixels
    (frames.sketch_frame) calls this so that the stars drawn next are the frame's own."""
    sky_grid((1, 1), 1.0, rng, clouds=0.0)
