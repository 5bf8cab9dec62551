"""Stars: first a table (x, y, flux), then pixels rendered from it as small PSF stamps.

The table comes first so users can bring their own catalogue and so the truth catalogue falls
out for free. Counts follow a power law in flux (log N - log S): many faint stars, few bright
ones, none fainter than what the noise would hide anyway. Each star is drawn only in a stamp
big enough for its wings to fall below a fraction of an electron, so a 4096 x 4096 frame with
thousands of stars costs little more than the stars' own pixels.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from astropy.table import Table

from send_test_images.errors import UsageError
from send_test_images.exposure.profiles import CameraProfile
from send_test_images.exposure.synth.psf import (
    PSF_COMPONENTS,
    integrated_gaussian,
    pixel_fractions,
    psf_radius,
)
from send_test_images.exposure.synth.sky import ZEROPOINTS, rate_for_magnitude

DEFAULT_REFERENCE_MAG = 18.0  # the star density is given for stars brighter than this
DEFAULT_COUNT_SLOPE = 0.3  # d log10 N / d mag at intermediate galactic latitude
DEFAULT_BRIGHTEST_MAG = 6.0  # no star brighter than this is drawn
DEFAULT_FAINT_SNR = 2.0  # stars fainter than this PSF-fit SNR are not worth drawing
DEFAULT_MAX_STARS = 40_000  # the faint limit rises instead of drawing more
DEFAULT_STAMP_FLOOR = 0.3  # e-: a stamp ends where the PSF drops below this per pixel
DEFAULT_MIN_RADIUS_SIGMAS = 3.0  # even the faintest stamp reaches this many core sigmas
DEFAULT_MAX_STAMP_RADIUS = 300  # pixels
STAMP_RADIUS_STEP = 1.4  # stamp radii come in sizes growing by this factor (stars batched by size)

SKIP_WIDER_THAN = 3.0
"""A PSF component whose sigma exceeds this many stamp radii is left out of that stamp."""

TRUTH_COLUMNS = ("x", "y", "flux", "mag", "peak", "snr", "saturated", "catalog_id")
"""`catalog_id` names a star placed from a catalogue (`Gaia DR3 <source_id>`); '' for a synthetic one."""


@dataclass(frozen=True)
class PlacedStars:
    """Stars whose place and brightness come from outside synth (the real sky, sky/field.py):
    0-based pixel x, y, magnitude in the frame's filter, catalogue id. The synthetic field fills
    in only fainter than `limit` (the catalogue's depth in this filter), so no magnitude is
    counted twice and the counts per magnitude stay those of the sky."""

    x: np.ndarray
    y: np.ndarray
    mag: np.ndarray
    ids: np.ndarray
    limit: float
    source: str


def empty_table() -> Table:
    """A truth table with no rows but every column, so callers need no special case."""
    return Table(
        [np.zeros(0) for _ in TRUTH_COLUMNS[:-2]] + [np.zeros(0, dtype=bool), np.zeros(0, dtype=str)],
        names=TRUTH_COLUMNS,
    )


def with_placed(table: Table, placed: PlacedStars, *, filter_name: str, exptime: float) -> Table:
    """`table` (x, y, flux) plus the placed stars, brightest first, with a `catalog_id` column."""
    flux = np.asarray(rate_for_magnitude(placed.mag, filter_name), dtype=np.float64) * exptime
    ids = np.concatenate([placed.ids.astype(str), np.full(len(table), "")])
    x = np.concatenate([placed.x, np.asarray(table["x"], dtype=np.float64)])
    y = np.concatenate([placed.y, np.asarray(table["y"], dtype=np.float64)])
    flux = np.concatenate([flux, np.asarray(table["flux"], dtype=np.float64)])
    order = brightest_first(flux)
    # fresh columns: astropy need not copy them (a third of a Table's cost)
    return Table([x[order], y[order], flux[order], ids[order]], names=("x", "y", "flux", "catalog_id"), copy=False)


def faint_limit(noise_floor: float, sigma: float, snr: float = DEFAULT_FAINT_SNR) -> float:
    """The flux (e-) whose PSF-fit SNR is `snr` over a per-pixel variance `noise_floor` (e-^2)."""
    area = psf_noise_area(sigma)
    return 0.5 * (snr**2 + math.sqrt(snr**4 + 4.0 * snr**2 * area * noise_floor))


def psf_noise_area(sigma: float) -> float:
    """1 / sum(p^2) of the (unpixelated) PSF: the number of pixels whose noise a fit sees."""
    total = 0.0
    for wi, ki in PSF_COMPONENTS:
        for wj, kj in PSF_COMPONENTS:
            total += wi * wj / (2.0 * math.pi * sigma**2 * (ki**2 + kj**2))
    return 1.0 / total


def make_star_table(
    shape: tuple[int, int],
    rng: np.random.Generator,
    *,
    area_deg2: float,
    filter_name: str,
    exptime: float,
    density: float,
    faint_flux: float,
    slope: float = DEFAULT_COUNT_SLOPE,
    reference_mag: float = DEFAULT_REFERENCE_MAG,
    brightest_mag: float = DEFAULT_BRIGHTEST_MAG,
    max_stars: int = DEFAULT_MAX_STARS,
) -> Table:
    """A random star field: x, y uniform over the frame, flux (e-) from a truncated power law.

    N(> F) = density * area * (F / F_ref) ** -(slope / 0.4), F_ref being a star of
    `reference_mag`; only stars between `faint_flux` and `brightest_mag` are drawn.
    """
    alpha = slope / 0.4
    reference = float(rate_for_magnitude(reference_mag, filter_name)) * exptime
    brightest = float(rate_for_magnitude(brightest_mag, filter_name)) * exptime
    total = density * area_deg2

    def brighter_than(flux: float) -> float:
        return total * (flux / reference) ** -alpha

    faint = min(faint_flux, brightest)
    if brighter_than(faint) > max_stars:
        faint = reference * (max_stars / total) ** (-1.0 / alpha)
    count = int(rng.poisson(max(brighter_than(faint) - brighter_than(brightest), 0.0)))
    tail = 1.0 - (brightest / faint) ** -alpha
    flux = faint * (1.0 - rng.uniform(size=count) * tail) ** (-1.0 / alpha)
    height, width = shape
    x = rng.uniform(-0.5, width - 0.5, count)
    y = rng.uniform(-0.5, height - 0.5, count)
    order = brightest_first(flux)
    return Table([x[order], y[order], flux[order]], names=("x", "y", "flux"), copy=False)


def brightest_first(flux: np.ndarray) -> np.ndarray:
    """`np.argsort(-flux, kind="stable")`, at the cost of numpy's default sort (a seventh of it
    for a frame's ~4000 random fluxes): the two orders differ only among equal fluxes, which a
    continuous draw practically never gives, and then the stable sort is used."""
    order = np.argsort(-flux)
    ranked = flux[order]
    if np.any(ranked[1:] == ranked[:-1]):
        return np.argsort(-flux, kind="stable")
    return order


def render_stars(
    image: np.ndarray, table: Table, sigma: float, *, floor: float = DEFAULT_STAMP_FLOOR
) -> tuple[np.ndarray, np.ndarray]:
    """Add every star of `table` to `image` (e-, in place) as a pixel-integrated PSF stamp.

    Returns, per star, the fraction of its flux in its brightest pixel and sum(p^2) of its
    stamp: what the truth table needs for peak and SNR.
    """
    x, y, flux = _star_columns(table)
    peak_fraction = np.zeros(flux.size)
    sum_p2 = np.zeros(flux.size)
    if flux.size == 0:
        return peak_fraction, sum_p2
    radius = np.clip(
        np.ceil(psf_radius(flux, sigma, floor)),
        math.ceil(DEFAULT_MIN_RADIUS_SIGMAS * sigma),
        DEFAULT_MAX_STAMP_RADIUS,
    )
    classes = _radius_classes(math.ceil(DEFAULT_MIN_RADIUS_SIGMAS * sigma))
    which = np.searchsorted(classes, radius)
    flat = image.reshape(-1)
    for k in np.unique(which):
        members = np.flatnonzero(which == k)
        radius_k = int(classes[k])
        tables = _fraction_tables(radius_k, sigma)
        along_y, along_x = (_profiles(tables, position) for position in (y[members], x[members]))
        # each stamp holds the star's whole flux: the part of the faint halo that lies beyond
        # the stamp (up to its 2%, for faint stars) is folded back in, not lost. A stamp is
        # along_y^T along_x (a sum over components of outer products), so its sum, its peak
        # (the central pixel, nearest the star) and its sum of squares (from the components'
        # Gram matrices) all come from the 1-D profiles' tabulated sums
        total = (along_y.sums * along_x.sums).sum(axis=1, dtype=np.float64)
        peak_fraction[members] = (along_y.centre * along_x.centre).sum(axis=1, dtype=np.float64) / total
        sum_p2[members] = (along_y.gram * along_x.gram).sum(axis=(1, 2), dtype=np.float64) / np.square(total)
        scaled_x = along_x.pixels * (flux[members] / total).astype(np.float32)[:, None, None]
        stamps = np.matmul(along_y.pixels.transpose(0, 2, 1), scaled_x)
        _add_stamps(flat, image.shape, x[members], y[members], radius_k, stamps)
    return peak_fraction, sum_p2


PEAK_TABLE_STEPS = 256
"""expected_peaks looks each component's central-pixel fraction up at this many sub-pixel
offsets per pixel (a 0.004-pixel step moves a fraction by well under 0.1%)."""


def expected_peaks(table: Table, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """What render_stars returns for `table`, from the PSF alone, drawing nothing: the flux
    fraction in each star's central pixel at its sub-pixel offset, and sum(p^2) of the
    unpixelated PSF. Within ~2% of the rendered values (a stamp is normalised to hold the
    star's whole flux, which the wide halo's far part adds to), for a fraction of the cost."""
    x, y, flux = _star_columns(table)
    offsets = np.linspace(-0.5, 0.5, PEAK_TABLE_STEPS + 1)
    col = np.rint((np.rint(x) - x + 0.5) * PEAK_TABLE_STEPS).astype(np.intp)
    row = np.rint((np.rint(y) - y + 0.5) * PEAK_TABLE_STEPS).astype(np.intp)
    peak_fraction = np.zeros(flux.size)
    for weight, ratio in PSF_COMPONENTS:
        central = integrated_gaussian(offsets, sigma * ratio)
        peak_fraction += weight * central[col] * central[row]
    return peak_fraction, np.full(flux.size, 1.0 / psf_noise_area(sigma))


def make_truth(
    table: Table,
    peak_fraction: np.ndarray,
    sum_p2: np.ndarray,
    camera: CameraProfile,
    *,
    filter_name: str,
    exptime: float,
    background: float,
    noise_floor: float,
    response: np.ndarray,
) -> Table:
    """The truth catalogue: positions, flux, magnitude, peak ADU, SNR and whether it clipped.

    snr = F / sqrt(F + noise_floor / sum(p^2)) is the PSF-fit signal-to-noise; `peak` is the
    star's own brightest pixel in ADU above the background, through the optics' response.
    """
    x, y, flux = _star_columns(table)
    rows = np.clip(np.rint(y).astype(np.intp), 0, camera.height - 1)
    cols = np.clip(np.rint(x).astype(np.intp), 0, camera.width - 1)
    gain_response = response[rows, cols].astype(np.float64) / camera.gain
    peak = flux * peak_fraction * gain_response
    with np.errstate(divide="ignore"):
        snr = np.where(sum_p2 > 0, flux / np.sqrt(flux + noise_floor / np.maximum(sum_p2, 1e-30)),
                       0.0)
        mag = ZEROPOINTS[filter_name] - 2.5 * np.log10(np.maximum(flux, 1e-30) / exptime)
    top = peak + background * gain_response + camera.bias_level
    ids = table["catalog_id"] if "catalog_id" in table.colnames else np.full(flux.size, "")
    # copies of the input's columns only, not of every new one (astropy copies all by default)
    return Table(
        [x.copy(), y.copy(), flux.copy(), mag, peak, snr, top >= camera.saturation, np.array(ids, dtype=str)],
        names=TRUTH_COLUMNS, copy=False,
    )


def _star_columns(table: Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    missing = [name for name in ("x", "y", "flux") if name not in table.colnames]
    if missing:
        raise UsageError(
            f"star table column {missing[0]!r} is missing: give columns x, y (pixels), flux (e-)"
        )
    x, y, flux = (np.asarray(table[name], dtype=np.float64) for name in ("x", "y", "flux"))
    if not (np.isfinite(x).all() and np.isfinite(y).all() and np.isfinite(flux).all()):
        raise UsageError("star table has a non-finite x, y or flux: use finite numbers")
    if (flux < 0).any():
        raise UsageError(f"star flux {flux.min()!r} is not allowed: use fluxes >= 0 electrons")
    return x, y, flux


def _radius_classes(smallest: int) -> np.ndarray:
    radii = [max(1, smallest)]
    while radii[-1] < DEFAULT_MAX_STAMP_RADIUS:
        radii.append(min(DEFAULT_MAX_STAMP_RADIUS, math.ceil(radii[-1] * STAMP_RADIUS_STEP)))
    return np.array(radii)


SUBPIXEL_STEPS = 256
"""The 1-D pixel fractions of each PSF component are tabulated at this many star offsets per
pixel (per seeing and stamp size, once per process) and interpolated linearly in between:
within 3e-6 of a star's flux of the exact integral, far below any pixel's noise, and no error
function per star (that was a third of a 768² frame's star drawing)."""


@dataclass(frozen=True)
class _Profiles:
    """Per star along one axis: each PSF component's pixel fractions times the square root of
    its flux weight ((n, components, 2r+1)), their sums, their central pixel and their Gram
    matrix (sums of products of two components), all float32 views of one array."""

    pixels: np.ndarray
    sums: np.ndarray
    centre: np.ndarray
    gram: np.ndarray


def _profiles(tables: _Tables, position: np.ndarray) -> _Profiles:
    """The profiles of stars at `position` (pixels, one axis) around their nearest pixel,
    interpolated linearly between the two tabulated offsets on either side."""
    at = (np.rint(position) - position + 0.5) * SUBPIXEL_STEPS
    index = np.minimum(at.astype(np.intp), SUBPIXEL_STEPS - 1)
    rows = np.take(tables.table, index, axis=0)
    change = np.take(tables.slope, index, axis=0)
    change *= (at - index).astype(np.float32)[:, None]
    rows += change  # in place: these arrays are large enough that a new one costs page faults
    return _split(rows, 2 * tables.radius + 1, tables.components)


def _split(rows: np.ndarray, size: int, components: int) -> _Profiles:
    """Views of the four parts of flattened profiles (n, components * (size + 2 + components))."""
    n, cut = rows.shape[0], np.cumsum([components * size, components, components])
    return _Profiles(rows[:, : cut[0]].reshape(n, components, size), rows[:, cut[0] : cut[1]],
                     rows[:, cut[1] : cut[2]], rows[:, cut[2] :].reshape(n, components, components))


@dataclass(frozen=True)
class _Tables:
    """Flattened profiles (float32) at SUBPIXEL_STEPS star offsets and the change to the next."""

    table: np.ndarray
    slope: np.ndarray
    radius: int
    components: int


@functools.lru_cache(maxsize=64)
def _fraction_tables(radius: int, sigma: float) -> _Tables:
    """The profiles (flattened, float32) at SUBPIXEL_STEPS star offsets across a pixel, and
    the change from each offset to the next: what _profiles interpolates."""
    offsets = np.linspace(-0.5, 0.5, SUBPIXEL_STEPS + 1)
    steps = np.arange(2 * radius + 2) - radius - 0.5
    edges = offsets[:, None] + steps[None, :]
    columns = []
    for weight, ratio in PSF_COMPONENTS:
        if sigma * ratio > SKIP_WIDER_THAN * radius:
            # a halo far wider than the stamp is nearly flat across it; render_stars scales
            # the stamp to the star's flux anyway, so leaving it out costs nothing visible
            continue
        columns.append(math.sqrt(weight) * pixel_fractions(edges, sigma * ratio))
    full = np.stack(columns, axis=1)
    parts = (full, full.sum(axis=2), full[:, :, radius], np.matmul(full, full.transpose(0, 2, 1)))
    nodes = np.concatenate([part.reshape(SUBPIXEL_STEPS + 1, -1) for part in parts], axis=1)
    table, slope = nodes[:-1].astype(np.float32), np.diff(nodes, axis=0).astype(np.float32)
    for array in (table, slope):
        array.flags.writeable = False
    return _Tables(table, slope, radius, len(columns))


def _add_stamps(flat: np.ndarray, shape: tuple[int, int], x: np.ndarray, y: np.ndarray,
                radius: int, stamps: np.ndarray) -> None:
    """Add each stamp around its star's nearest pixel; stamps may overlap, and the few that
    cross the frame's edge lose what falls outside."""
    height, width = shape
    row = np.rint(y).astype(np.intp)
    col = np.rint(x).astype(np.intp)
    whole = (row >= radius) & (row < height - radius) & (col >= radius) & (col < width - radius)
    offsets = np.arange(-radius, radius + 1)
    grid = offsets[:, None] * width + offsets[None, :]
    edge = ~whole
    inner = slice(None) if not edge.any() else whole  # every stamp whole: no copies, no mask
    np.add.at(flat, ((row[inner] * width + col[inner])[:, None, None] + grid).ravel(), stamps[inner].ravel())
    if not edge.any():
        return
    rows = row[edge][:, None] + offsets[None, :]
    cols = col[edge][:, None] + offsets[None, :]
    index = rows[:, :, None] * width + cols[:, None, :]
    inside = ((rows >= 0) & (rows < height))[:, :, None] & ((cols >= 0) & (cols < width))[:, None, :]
    np.add.at(flat, index[inside], stamps[edge][inside])
