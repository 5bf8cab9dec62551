"""Perlin gradient noise: the original smooth-blob look, and the sky's gradients and clouds.

Everything this noise draws is smooth, so it is evaluated on a coarse grid (a few pixels per
cell of the finest octave) and bilinearly enlarged: a 4096 x 4096 field then costs a 256 x 256
evaluation plus one enlargement, instead of octaves x 16 million gradient lookups.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

BAND_PIXELS = 1 << 17
"""`upsample` draws this many pixels at a time: each band is written while in the CPU cache."""
DEFAULT_CELLS = 4  # lattice cells across the frame in the coarsest octave
DEFAULT_OCTAVES = 5
DEFAULT_PERSISTENCE = 0.5  # amplitude ratio between successive octaves
DEFAULT_PIXELS_PER_CELL = 4  # coarse-grid pixels per cell of the finest octave
PERLIN_NORMALISATION = np.sqrt(2.0)  # 2-D gradient noise lies within +-1/sqrt(2)

DEFAULT_BLOB_LOW = 0.05  # perlin image: darkest blob, fraction of full well
DEFAULT_BLOB_HIGH = 0.55  # perlin image: brightest blob, fraction of full well


def perlin_noise(shape: tuple[int, int], cells: int, rng: np.random.Generator) -> np.ndarray:
    """One octave of float32 gradient noise in about [-1, 1] with `cells` lattice cells per axis."""
    angles = rng.uniform(0.0, 2.0 * np.pi, size=(cells + 1, cells + 1))
    grad_x = np.cos(angles).astype(np.float32).ravel()
    grad_y = np.sin(angles).astype(np.float32).ravel()
    lattice = _lattice_geometry(shape, cells)

    def corner(dy: int, dx: int) -> np.ndarray:
        index = lattice.corners[dy][dx]
        return np.take(grad_x, index) * lattice.fx[dx] + np.take(grad_y, index) * lattice.fy[dy]

    u, v = lattice.u, lattice.v
    top_left, bottom_left = corner(0, 0), corner(1, 0)  # each used twice: computed once
    top = top_left + u * (corner(0, 1) - top_left)
    bottom = bottom_left + u * (corner(1, 1) - bottom_left)
    noise = top + v * (bottom - top)
    noise *= np.float32(PERLIN_NORMALISATION)
    return noise


def fractal_noise(
    shape: tuple[int, int],
    rng: np.random.Generator,
    *,
    cells: int = DEFAULT_CELLS,
    octaves: int = DEFAULT_OCTAVES,
    persistence: float = DEFAULT_PERSISTENCE,
) -> np.ndarray:
    """Octaves of perlin_noise, each twice as fine and `persistence` as strong, in about [-1, 1]."""
    total = np.zeros(shape, dtype=np.float32)
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        total += np.float32(amplitude) * perlin_noise(shape, cells * 2**octave, rng)
        norm += amplitude
        amplitude *= persistence
    total /= np.float32(norm)
    return total


def coarse_shape(shape: tuple[int, int], cells: int, octaves: int) -> tuple[int, int]:
    """The grid on which `octaves` of noise starting at `cells` are still smooth."""
    finest = cells * 2 ** (octaves - 1) * DEFAULT_PIXELS_PER_CELL
    return (min(shape[0], finest), min(shape[1], finest))


def upsample(grid: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear enlargement of a float32 `grid` to `shape` (pixel centres aligned).

    Drawn a band of rows at a time by `Enlargement.band`, the arithmetic a frame's sky is
    added with (frames.py), so there is one way to enlarge and every frame's bytes follow it.
    """
    if grid.shape == tuple(shape):
        return grid.astype(np.float32, copy=True)
    plan = enlargement(grid, shape)
    out = np.empty(shape, dtype=np.float32)
    rows = max(1, BAND_PIXELS // shape[1])
    for top in range(0, shape[0], rows):
        plan.band(top, out[top : top + rows])
    return out


@dataclass(frozen=True)
class Enlargement:
    """A float32 grid's bilinear enlargement (as `upsample` draws it), to be drawn a band of
    rows at a time: a frame's sky is added where the frame's rows are already in the CPU
    cache (frames.py), instead of being written whole first and read back (which costs three
    times as much at 768², the writes missing the cache)."""

    rows: np.ndarray  # (grid height + 1, width): the grid enlarged across, its last row repeated
    steps: np.ndarray  # (grid height, width): each coarse row's change to the next
    y0: np.ndarray  # per output row: the coarse row above it
    wy: np.ndarray  # per output row: its weight on the coarse row below (float32)

    def band(self, top: int, out: np.ndarray) -> np.ndarray:
        """Rows top .. top + len(out) of the enlargement, written into `out` (n, width): element
        by element `upsample`'s arithmetic (rows[y0] + steps[y0] * wy), so the same values."""
        above = self.y0[top : top + out.shape[0]]
        np.take(self.steps, above, axis=0, out=out, mode="clip")  # "clip": take buffers `out` otherwise
        out *= self.wy[top : top + out.shape[0], None]
        out += np.take(self.rows, above, axis=0, mode="clip")
        return out


def enlargement(grid: np.ndarray, shape: tuple[int, int]) -> Enlargement:
    """What `Enlargement.band` needs to enlarge `grid` to `shape`: a few coarse rows' worth."""
    y0, wy = _interp_index(grid.shape[0], shape[0])
    rows = _across(grid, shape[1])
    return Enlargement(rows=rows, steps=rows[1:] - rows[:-1], y0=y0, wy=wy)


def _across(grid: np.ndarray, width: int) -> np.ndarray:
    """`grid` enlarged across to `width` columns, its last row repeated (grid height + 1, width).

    In C order: indexing the columns (grid[:, x0]) gives an array laid out column by column,
    and reading its rows whole was then strided: a third of a 768² sky's enlargement."""
    x0, wx = _interp_index(grid.shape[1], width)
    padded = np.concatenate([grid, grid[:, -1:]], axis=1)
    left, right = np.take(padded, x0, axis=1), np.take(padded, x0 + 1, axis=1)
    rows = left + (right - left) * wx
    return np.concatenate([rows, rows[-1:]], axis=0)


def make_perlin_image(shape: tuple[int, int], rng: np.random.Generator,
                      full_well: float) -> np.ndarray:
    """The original look: smooth monochrome blobs in electrons, spanning a realistic range."""
    grid = coarse_shape(shape, DEFAULT_CELLS, DEFAULT_OCTAVES)
    noise = fractal_noise(grid, rng)
    low, high = float(noise.min()), float(noise.max())
    span = high - low if high > low else 1.0
    scale = (DEFAULT_BLOB_HIGH - DEFAULT_BLOB_LOW) * full_well / span
    blobs = (noise - np.float32(low)) * np.float32(scale) + np.float32(DEFAULT_BLOB_LOW * full_well)
    return upsample(blobs.astype(np.float32), shape)


@dataclass(frozen=True)
class _Lattice:
    """Where a grid's points fall on an octave's lattice: the flat index of each point's four
    corners ([dy][dx]), its offsets from them (fx[dx]: (1, width), fy[dy]: (height, 1)) and
    the fade weights. The same for every frame of a shape: made once, read-only."""

    corners: tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
    fx: tuple[np.ndarray, np.ndarray]
    fy: tuple[np.ndarray, np.ndarray]
    u: np.ndarray
    v: np.ndarray


@functools.lru_cache(maxsize=32)
def _lattice_geometry(shape: tuple[int, int], cells: int) -> _Lattice:
    height, width = shape
    y_cell, y_frac = _lattice(height, cells)
    x_cell, x_frac = _lattice(width, cells)
    iy, ix = y_cell[:, None], x_cell[None, :]
    fy, fx = y_frac[:, None], x_frac[None, :]
    corners = tuple(tuple((iy + dy) * (cells + 1) + (ix + dx) for dx in (0, 1)) for dy in (0, 1))
    lattice = _Lattice(corners=corners, fx=(fx - 0, fx - 1), fy=(fy - 0, fy - 1), u=_fade(fx), v=_fade(fy))
    for array in (*corners[0], *corners[1], *lattice.fx, *lattice.fy, lattice.u, lattice.v):
        array.flags.writeable = False
    return lattice


def _lattice(size: int, cells: int) -> tuple[np.ndarray, np.ndarray]:
    position = (np.arange(size, dtype=np.float64) + 0.5) * (cells / size)
    cell = np.minimum(position.astype(np.intp), cells - 1)
    return cell, (position - cell).astype(np.float32)


def _fade(t: np.ndarray) -> np.ndarray:
    """Perlin's quintic 6t^5 - 15t^4 + 10t^3: zero slope and curvature at lattice points."""
    return t * t * t * (t * (t * np.float32(6.0) - np.float32(15.0)) + np.float32(10.0))


def _interp_index(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray]:
    position = (np.arange(size_out, dtype=np.float64) + 0.5) * (size_in / size_out) - 0.5
    position = np.clip(position, 0.0, size_in - 1)
    index = np.minimum(position.astype(np.intp), size_in - 1)
    return index, (position - index).astype(np.float32)
