"""The camera between the photons and the file: fixed pattern, noise, gain, bias, the ADC.

The fixed pattern (hot pixels, a bad column, dust donuts, PRNU, vignetting, bias column
structure) is seeded from the camera, never from the frame seed, so it sits in the same place
in every frame of that camera and bias/dark/flat masters made from these frames really
calibrate the lights. It is built once per camera and kept (read-only) for later frames.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from send_test_images.exposure.profiles import CameraProfile
from send_test_images.exposure.synth.perlin import upsample
from send_test_images.exposure.synth.psf import erf, integrated_gaussian

PATTERN_SALT = 20240611  # keeps pattern seeds apart from any frame seed a user might pick

DEFAULT_PRNU = 0.006  # pixel-to-pixel sensitivity RMS, fraction
DEFAULT_VIGNETTING = 0.15  # light lost in the corners, fraction
DEFAULT_OPTICAL_OFFSET = 0.03  # optical axis offset from the chip centre, fraction of size
DEFAULT_VIGNETTING_GRID = 128  # coarse grid the smooth fall-off is computed on
DEFAULT_DUST_PER_MEGAPIXEL = 0.25  # dust donuts per million pixels (at least one): ~4 on 4096²
DEFAULT_DUST_RADIUS = (0.012, 0.035)  # outer radius, fraction of the short side
DEFAULT_DUST_DEPTH = (0.003, 0.012)  # light blocked in the ring, fraction: a reasonably clean filter
DEFAULT_DUST_HOLE = 0.55  # inner radius / outer radius: the out-of-focus secondary shadow
DEFAULT_DUST_CORE = 0.25  # shadow in the hole relative to the ring
DEFAULT_DUST_EDGE = 0.1  # width of the ring edges, fraction of the radius
DEFAULT_HOT_FRACTION = 5e-5  # fraction of pixels that are hot
DEFAULT_HOT_RATE = (2.0, 300.0)  # e-/s, log-uniform
DEFAULT_BAD_COLUMN_RESPONSE = 0.9  # a trap that eats part of the charge below it
DEFAULT_BAD_COLUMN_OFFSET = 3.0  # ADU added to the bad column even in a bias
DEFAULT_BIAS_COLUMN_FRACTION = 0.05  # column-to-column bias structure, RMS in units of read noise
# Column pattern and bad column were 1.2 and 35 ADU: binned 6x6 for the 768-px preview both stood
# well above the binned read noise (0.6 ADU for sq4k) as vertical stripes. At 5% of the read noise
# a column's offset stays below the read noise for any binning up to 400x (0.05 < 1/sqrt(f)).
DEFAULT_BIAS_DRIFT = 2.0  # ADU RMS frame-to-frame bias level drift
DEFAULT_COSMIC_RATE = 0.07  # hits per megapixel per second
DEFAULT_COSMIC_ENERGY = 1500.0  # e- deposited per pixel of track (median)
DEFAULT_COSMIC_LENGTH = 3.0  # mean track length, pixels
DEFAULT_SATELLITE_FLUX = 2500.0  # e- per pixel of trail length (median)
SPILL_WINDOW = 64  # pixels of a column a bleed trail is first looked for in ...
SPILL_GROWTH = 4  # ... and how much further each look reaches when the charge needs more
DEFAULT_BLOCK_PIXELS = 1 << 17  # read-out works on blocks this big (fits in a CPU cache)
NORMAL_TABLE_SIZE = 1 << 16  # quantiles in the Gaussian look-up table (16-bit indices)
NORMAL_TABLE_REACH = 8.0  # sigmas: the bisection bracket, wider than any table entry
BISECTION_STEPS = 32


@dataclass(frozen=True)
class FixedPattern:
    """One camera's defects; arrays are read-only because they are shared between frames."""

    seed: int
    response: np.ndarray  # float32 (height, width): vignetting x dust x PRNU x bad column
    bias_columns: np.ndarray  # float32 (width,): each column's offset in units of the read noise
    hot_index: np.ndarray  # flat indices of hot pixels
    hot_rate: np.ndarray  # float32 e-/s of each hot pixel
    bad_column: int
    bad_column_start: int  # first row (from the read-out end) the trap affects
    dust: tuple[tuple[float, float, float, float], ...] = ()  # (x, y, outer radius px, depth)


def pattern_seed(camera: CameraProfile) -> int:
    """A seed that depends only on which sensor this is, stable across runs and processes."""
    return zlib.crc32(f"{camera.name}:{camera.width}x{camera.height}".encode()) ^ PATTERN_SALT


def fixed_pattern(camera: CameraProfile) -> FixedPattern:
    """The fixed pattern of `camera` (cached: gain or noise overrides do not move defects)."""
    return _fixed_pattern(camera.name, camera.height, camera.width)


@functools.lru_cache(maxsize=4)
def _fixed_pattern(name: str, height: int, width: int) -> FixedPattern:
    seed = zlib.crc32(f"{name}:{width}x{height}".encode()) ^ PATTERN_SALT
    rng = np.random.default_rng(seed)
    shape = (height, width)
    response = make_vignetting(shape, rng)
    rows = max(1, DEFAULT_BLOCK_PIXELS // width)
    for top in range(0, height, rows):
        block = response[top:top + rows]
        prnu = standard_normal(rng, block.shape)
        prnu *= np.float32(DEFAULT_PRNU)
        prnu += np.float32(1)
        block *= prnu
    dust = _add_dust(response, rng)
    bad_column = int(rng.integers(width))
    bad_column_start = int(rng.integers(height // 4, max(height // 4 + 1, 3 * height // 4)))
    response[bad_column_start:, bad_column] *= np.float32(DEFAULT_BAD_COLUMN_RESPONSE)
    bias_columns = rng.normal(0.0, DEFAULT_BIAS_COLUMN_FRACTION, width).astype(np.float32)
    n_hot = max(1, round(DEFAULT_HOT_FRACTION * height * width))
    hot_index = rng.choice(height * width, size=n_hot, replace=False)
    low, high = np.log(DEFAULT_HOT_RATE)
    hot_rate = np.exp(rng.uniform(low, high, n_hot)).astype(np.float32)
    for array in (response, bias_columns, hot_index, hot_rate):
        array.flags.writeable = False
    return FixedPattern(seed, response, bias_columns, hot_index, hot_rate, bad_column,
                        bad_column_start, dust)


def make_vignetting(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """cos^4-like fall-off around an optical axis slightly off the chip centre, 1 at the axis."""
    size = np.array(shape, dtype=np.float64)
    centre = (size - 1) / 2 + rng.uniform(-1, 1, 2) * size * DEFAULT_OPTICAL_OFFSET
    half_diagonal = np.hypot(*size) / 2
    # the fall-off is smooth: evaluate it on a coarse grid, at the positions upsample() expects
    coarse = np.minimum(size.astype(int), DEFAULT_VIGNETTING_GRID)
    ry, rx = (
        ((np.arange(n) + 0.5) * (full / n) - 0.5 - c) / half_diagonal
        for n, full, c in zip(coarse, size, centre, strict=True)
    )
    grid = vignetting_falloff(ry[:, None] ** 2 + rx[None, :] ** 2)
    return upsample(grid.astype(np.float32), shape)


def vignetting_falloff(r2: np.ndarray) -> np.ndarray:
    """The light reaching squared radius `r2` (in half-diagonals from the optical axis):
    (1 + k r^2)^-2 with k set so the far corner of a centred chip loses DEFAULT_VIGNETTING."""
    k = (1.0 - DEFAULT_VIGNETTING) ** -0.5 - 1.0
    return (1.0 + k * r2) ** -2


def _add_dust(
    response: np.ndarray, rng: np.random.Generator
) -> tuple[tuple[float, float, float, float], ...]:
    """Out-of-focus dust on a filter or window: a few faint doughnuts in the optics' response.

    They are in every frame (a flat must divide them out of a light), but at 0.3-1.2% of the
    light they stand out only in a flat, whose noise is a fraction of a percent; in a light they
    sit below the sky noise even binned to preview size. The count is what a reasonably kept
    filter shows (~4 on a 4096² sensor); 25 at 2-7% depth, as before, looked like a filthy one.
    """
    height, width = response.shape
    count = max(1, round(DEFAULT_DUST_PER_MEGAPIXEL * height * width / 1e6))
    short = min(height, width)
    dust: list[tuple[float, float, float, float]] = []
    for _ in range(count):
        radius = rng.uniform(*DEFAULT_DUST_RADIUS) * short
        depth = rng.uniform(*DEFAULT_DUST_DEPTH)
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        y0, y1 = max(0, int(cy - radius) - 1), min(height, int(cy + radius) + 2)
        x0, x1 = max(0, int(cx - radius) - 1), min(width, int(cx + radius) + 2)
        if y0 >= y1 or x0 >= x1:
            continue
        dust.append((float(cx), float(cy), float(radius), float(depth)))
        r = np.hypot(np.arange(y0, y1)[:, None] - cy, np.arange(x0, x1)[None, :] - cx) / radius
        # a soft-edged ring from DEFAULT_DUST_HOLE to 1, faintly darker in the hole too
        ring = _soft_step(r - DEFAULT_DUST_HOLE) * _soft_step(1.0 - r)
        shadow = depth * (ring + DEFAULT_DUST_CORE * _soft_step(1.0 - r))
        response[y0:y1, x0:x1] *= (1.0 - np.clip(shadow, 0.0, 0.95)).astype(np.float32)
    return tuple(dust)


def _soft_step(x: np.ndarray) -> np.ndarray:
    return np.clip(0.5 + x / DEFAULT_DUST_EDGE, 0.0, 1.0)


def standard_normal(rng: np.random.Generator, shape: tuple[int, ...], *, out: np.ndarray | None = None) -> np.ndarray:
    """Float32 N(0, 1) deviates from a 65536-entry quantile table, four times faster than
    `rng.standard_normal`: 16-bit uniform integers pick the quantiles. Tails are cut at
    4.3 sigma, which no pixel statistic of a frame can tell apart from a true Gaussian.
    `out` (float32, `shape`) receives them when given: read_out reuses one buffer per block.
    """
    count = int(np.prod(shape))
    # the generator's raw 64-bit words, four 16-bit indices each: half the cost of
    # rng.integers(0, 65536, dtype=uint16), with the same uniform distribution
    raw = rng.bit_generator.random_raw(-(-count // 4)).view(np.uint16)
    # mode "clip" (every index is in range anyway): with the default, take buffers `out`
    return np.take(_normal_table(), raw[:count].reshape(shape), out=out, mode="clip")


@functools.lru_cache(maxsize=1)
def _normal_table() -> np.ndarray:
    """Quantiles of N(0, 1) at the centres of NORMAL_TABLE_SIZE equal-probability bins.

    Only the lower half is bisected and the upper half is its mirror image: bisecting all of
    them gives exactly that (erf is odd and the bins are symmetric; a test holds the two
    equal), in half the time, which every process pays once (43 -> 21 ms).
    """
    p = (np.arange(NORMAL_TABLE_SIZE // 2) + 0.5) / NORMAL_TABLE_SIZE
    # bisection on the CDF, all quantiles at once (erf from psf.py is good to 1.5e-7)
    low = np.full(p.shape, -NORMAL_TABLE_REACH)
    high = np.full(p.shape, NORMAL_TABLE_REACH)
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (low + high)
        below = 0.5 * (1.0 + erf(mid / np.sqrt(2.0))) < p
        low = np.where(below, mid, low)
        high = np.where(below, high, mid)
    lower = (0.5 * (low + high)).astype(np.float32)
    table = np.concatenate([lower, -lower[::-1]])
    table.flags.writeable = False
    return table


def add_hot_pixels(signal: np.ndarray, pattern: FixedPattern, exptime: float) -> None:
    """The hot pixels' extra thermal electrons (the uniform dark current comes in read_out)."""
    if exptime > 0:
        signal.reshape(-1)[pattern.hot_index] += pattern.hot_rate * np.float32(exptime)


def read_out(
    signal: np.ndarray,
    camera: CameraProfile,
    pattern: FixedPattern,
    rng: np.random.Generator,
    *,
    exptime: float,
    expected: np.ndarray | None = None,
) -> np.ndarray:
    """Electrons to uint16 ADU: dark current, shot and read noise, gain, bias, rounding, ADC.

    `expected` (float32, the frame's shape), when given, receives the noiseless ADU the
    camera would read on average: what a stack of many such frames converges to.

    Works through the frame a block of rows at a time so every step runs on data still in the
    CPU cache, and consumes `signal` as its scratch space. Shot noise is a Gaussian of variance
    signal + read_noise^2 instead of Poisson: the same to a fraction of an electron once read
    noise is included, and many times faster.
    """
    height, width = signal.shape
    dark = np.float32(camera.dark_current * max(exptime, 0.0))
    read_variance = np.float32(camera.read_noise**2)
    drift = rng.normal(0.0, DEFAULT_BIAS_DRIFT)
    inverse_gain = np.float32(1.0 / camera.gain)
    # + 0.5 here and truncation at the end round to nearest without another pass; the dark
    # current's mean comes in with the offsets (its noise with the shot noise below)
    column_scale = np.float32(camera.read_noise / camera.gain)
    offsets = pattern.bias_columns * column_scale + np.float32(camera.bias_level + drift + 0.5) + dark * inverse_gain
    bad_offset = np.float32(DEFAULT_BAD_COLUMN_OFFSET)
    pixels = np.empty((height, width), dtype=np.uint16)
    rows = max(1, DEFAULT_BLOCK_PIXELS // width)
    sigma_buffer = np.empty((rows, width), dtype=np.float32)
    normal_buffer = np.empty((rows, width), dtype=np.float32)
    for top in range(0, height, rows):
        block = signal[top:top + rows]
        sigma = sigma_buffer[: block.shape[0]]
        if expected is not None:
            mean = expected[top:top + rows]
            np.multiply(block, inverse_gain, out=mean)
            mean += offsets - np.float32(0.5)
            mean[max(0, pattern.bad_column_start - top):, pattern.bad_column] += bad_offset
        # variance: shot noise of the signal and the dark current, and the read noise
        np.add(block, dark + read_variance, out=sigma)
        np.maximum(sigma, read_variance, out=sigma)
        np.sqrt(sigma, out=sigma)
        sigma *= standard_normal(rng, block.shape, out=normal_buffer[: block.shape[0]])
        block += sigma
        block *= inverse_gain
        block += offsets
        block[max(0, pattern.bad_column_start - top):, pattern.bad_column] += bad_offset
        # clipped straight into the uint16 frame: the same truncation as a copy, one pass less
        np.clip(block, 0, camera.saturation, out=pixels[top:top + rows], casting="unsafe")
    return pixels


def add_cosmic_rays(signal: np.ndarray, rng: np.random.Generator, exptime: float) -> int:
    """Short sharp tracks (no PSF: they hit the silicon, not the sky); returns how many."""
    height, width = signal.shape
    expected = DEFAULT_COSMIC_RATE * height * width / 1e6 * max(exptime, 0.0)
    count = int(rng.poisson(expected))
    for _ in range(count):
        length = rng.exponential(DEFAULT_COSMIC_LENGTH)
        angle = rng.uniform(0, np.pi)
        y, x = rng.uniform(0, height), rng.uniform(0, width)
        steps = np.linspace(0.0, length, max(2, int(2 * length) + 1))
        rows = np.clip(np.rint(y + steps * np.sin(angle)).astype(np.intp), 0, height - 1)
        cols = np.clip(np.rint(x + steps * np.cos(angle)).astype(np.intp), 0, width - 1)
        pixels = np.unique(rows * width + cols)
        energy = DEFAULT_COSMIC_ENERGY * rng.lognormal(0.0, 0.5, pixels.size)
        signal.reshape(-1)[pixels] += energy.astype(np.float32)
    return count


def add_satellite(signal: np.ndarray, rng: np.random.Generator, sigma: float) -> None:
    """A straight trail across the whole frame, as wide as the seeing, pixel-integrated."""
    height, width = signal.shape
    flux = DEFAULT_SATELLITE_FLUX * rng.lognormal(0.0, 0.5)
    angle = rng.uniform(0, np.pi)
    y0, x0 = rng.uniform(0, height), rng.uniform(0, width)
    image = signal if abs(np.cos(angle)) >= abs(np.sin(angle)) else signal.T
    if image is signal.T:
        y0, x0, angle = x0, y0, np.pi / 2 - angle
    along = np.arange(image.shape[1])
    slope, stretch = np.tan(angle), 1.0 / abs(np.cos(angle))
    centre = y0 + slope * (along - x0)
    half = int(np.ceil(4 * sigma * stretch)) + 1
    rows = np.floor(centre).astype(np.intp)[:, None] + np.arange(-half, half + 1)[None, :]
    weight = integrated_gaussian(rows - centre[:, None], sigma * stretch) * (flux * stretch)
    cols = np.broadcast_to(along[:, None], rows.shape)
    inside = (rows >= 0) & (rows < image.shape[0])
    np.add.at(image, (rows[inside], cols[inside]), weight[inside].astype(np.float32))


DEFAULT_BLEED_BOX = 40  # pixels either side of a saturated star searched for charge above full well


def add_bleed(signal: np.ndarray, full_well: float, rows: np.ndarray, cols: np.ndarray, *,
              over: np.ndarray | None = None) -> int:
    """Charge above full well spills up and down its column, as it does in a real sensor.

    For each saturated star (centre `rows`, `cols`), every column of its core loses what it
    holds above `full_well` and that charge fills the pixels just above and below the
    saturated run, half each way, up to full well: the bleed trails that a saturated star has
    and that a flat top without them does not. Returns how many columns bled.

    All the bleeding columns are worked on at once (a frame has ~100 of them, and a Python
    loop per column and direction was a tenth of a 768² frame); a column that two stars
    share is done once per star, in star order, as charge filling a trail depends on what
    the earlier trail left. `over`, when the caller has them, are the flat indices of the
    pixels over full well (frames.py finds them while the pixels are in the cache).
    """
    height, width = signal.shape
    well = np.float32(full_well)
    if over is None:
        over = np.flatnonzero(signal.reshape(-1) > well)
    bled = 0
    for tasks in _bleed_rounds(_bleed_tasks(over, rows, cols, height, width)):
        # a column whose earlier star took all its charge has nothing left to bleed
        values, box, inside = _box_values(signal, tasks)
        full = inside & (values > well)
        bleeds = full.any(axis=1)
        if bleeds.any():
            _bleed_columns(signal, well, tasks[bleeds], values[bleeds], box[bleeds], full[bleeds])
            bled += int(bleeds.sum())
    return bled


def _bleed_tasks(over: np.ndarray, rows: np.ndarray, cols: np.ndarray, height: int, width: int) -> np.ndarray:
    """(star row, column) for every star's columns with a pixel of `over` (flat indices) within
    DEFAULT_BLEED_BOX of it: star by star, columns in order.

    Each of a star's 2 * DEFAULT_BLEED_BOX + 1 columns is looked up in the over-full pixels
    sorted by column then row, so the work grows with the stars and the pixels, never with
    their product (a sky exposed for a day is all over full well, under ~40,000 stars).
    """
    over_rows, over_cols = np.divmod(over, width)
    keys = np.sort(over_cols * height + over_rows)
    columns = cols[:, None] + np.arange(-DEFAULT_BLEED_BOX, DEFAULT_BLEED_BOX + 1)[None, :]
    lowest = np.maximum(rows - DEFAULT_BLEED_BOX, 0)[:, None]
    highest = np.minimum(rows + DEFAULT_BLEED_BOX, height - 1)[:, None]
    on_frame = (columns >= 0) & (columns < width)
    found = (np.searchsorted(keys, columns * height + highest, side="right")
             > np.searchsorted(keys, columns * height + lowest, side="left"))
    star, column = np.nonzero(on_frame & found)
    return np.stack([rows[star], columns[star, column]], axis=1).astype(np.intp)


def _bleed_rounds(tasks: np.ndarray) -> Iterator[np.ndarray]:
    """`tasks` in rounds: the first task of each column, then the second, ...

    A trail changes only its own column, so what matters is each column's order, kept here
    (star order); a round is worked on at once, its columns distinct.
    """
    if not tasks.size:
        return
    order = np.argsort(tasks[:, 1], kind="stable")
    by_column = tasks[order]
    column = by_column[:, 1]
    starts = np.flatnonzero(np.concatenate([[True], column[1:] != column[:-1]]))
    rank = np.arange(len(by_column)) - np.repeat(starts, np.diff(np.append(starts, len(by_column))))
    by_rank = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[by_rank], np.arange(int(rank.max()) + 2))
    for first, end in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        yield by_column[by_rank[first:end]]


def _box_values(signal: np.ndarray, tasks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pixels of each (star row, column) task's column within DEFAULT_BLEED_BOX rows of
    its star (rows off the frame repeat its edge), their rows and whether they are on it."""
    height = signal.shape[0]
    box = tasks[:, :1] + np.arange(-DEFAULT_BLEED_BOX, DEFAULT_BLEED_BOX + 1)[None, :]
    inside = (box >= 0) & (box < height)
    box = np.clip(box, 0, height - 1)
    return signal[box, tasks[:, 1:]], box, inside


def _bleed_columns(signal: np.ndarray, well: np.float32, tasks: np.ndarray, values: np.ndarray,
                   box: np.ndarray, full: np.ndarray) -> None:
    """add_bleed for (star row, column) `tasks` on distinct columns, each with pixels over
    `well` (`_box_values` of the tasks, and which of them are `full`)."""
    height = signal.shape[0]
    columns = np.broadcast_to(tasks[:, 1:], box.shape)
    excess = np.where(full, values.astype(np.float64) - well, 0.0).sum(axis=1)
    signal[box[full], columns[full]] = well
    bottom = np.where(full, box, -1).max(axis=1)
    top = np.where(full, box, height).min(axis=1)
    # down and up at once: each column's two trails lie on either side of its saturated run
    down = np.ones(len(tasks), dtype=np.intp)
    _spill_columns(signal, well, np.concatenate([bottom + 1, top - 1]), np.concatenate([down, -down]),
                   np.concatenate([tasks[:, 1], tasks[:, 1]]), np.concatenate([excess, excess]) / 2)


def _spill_columns(signal: np.ndarray, well: np.float32, start: np.ndarray, step: np.ndarray,
                   columns: np.ndarray, charge: np.ndarray) -> None:
    """Fill each of `columns` from row `start` in its direction `step` (+1 or -1) up to `well`
    until its `charge` runs out (what would run off the sensor is lost); all columns at once,
    in a window of rows that grows for the columns whose charge needs more. The trails must
    not share a pixel."""
    height, width = signal.shape
    flat = signal.reshape(-1)  # flat indices: a third of the cost of (row, column) pairs
    reach = min(height, SPILL_WINDOW)
    pending = charge > 0
    while pending.any():
        start, step, columns, charge = start[pending], step[pending], columns[pending], charge[pending]
        ahead = np.arange(reach)
        on_frame = np.clip(np.where(step > 0, height - start, start + 1), 0, None)  # rows before the edge
        inside = ahead[None, :] < on_frame[:, None]
        index = np.clip(start[:, None] + step[:, None] * ahead[None, :], 0, height - 1) * width + columns[:, None]
        window = np.take(flat, index)
        room = np.maximum(well - window, np.float32(0)).astype(np.float64)
        room *= inside
        filled = np.cumsum(room, axis=1)
        last = (filled < charge[:, None]).sum(axis=1)
        fits = last < np.minimum(on_frame, reach)
        lost = ~fits & ((on_frame < reach) | (reach >= height))  # the rest runs off the sensor
        if lost.any():
            gone = inside & lost[:, None]
            flat[index[gone]] = np.maximum(window[gone], well)
        if fits.any():
            index, room, filled, last = index[fits], room[fits], filled[fits], last[fits]
            before = ahead[None, :] < last[:, None]
            flat[index[before]] += room[before].astype(np.float32)
            which = np.arange(last.size)
            previous = np.where(last > 0, filled[which, np.maximum(last - 1, 0)], 0.0)
            flat[index[which, last]] += (charge[fits] - previous).astype(np.float32)
        pending = ~fits & ~lost
        reach = min(height, reach * SPILL_GROWTH)
