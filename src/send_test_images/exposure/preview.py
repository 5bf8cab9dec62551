"""The JPG previews a site uploads: the stretched `…10.jpg` and the 128-px-high `…11.jpg`.

A raw frame shown linearly is a black square with a few white dots, because the sky sits a few
hundred ADU above bias in a 65535 range. Sites show an auto-stretched picture instead, in the
manner of PixInsight's screen transfer function: clip the shadows a little below the background,
then bend the midtones so the background lands at a fixed grey. Faint stars and sky texture then
show, which is what a person looking at the web UI expects.

The frame is block-averaged to about the preview size *before* any statistics or stretching, so
a 4096² frame costs little more than a 768² one.
"""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image

from send_test_images.errors import UsageError
from send_test_images.exposure.binning import block_mean
from send_test_images.exposure.measure import STATS_STEP, Histogram, sample_histogram

DEFAULT_QUALITY = 85
"""JPEG quality: small files without visible blocking in the sky background."""

REDUCING_GAP = 3.0
"""Shrink by a whole factor with a box filter first, then Lanczos over the last factor of ~3:
what Pillow calls indistinguishable from a full Lanczos, at a third of its cost (768 -> 128 px:
1.75 -> 0.68 ms)."""

THUMBNAIL_HEIGHT = 128
"""Height of the `…11.jpg` the real service makes from every `…10.jpg` (protocol §2)."""

SHADOWS_CLIP = -2.8
"""Shadows clipping point in normalised-MAD units below the median (PixInsight's default)."""

TARGET_BACKGROUND = 0.25
"""Where the median (sky background) lands after the stretch, in 0..1 (PixInsight's default)."""

MAD_TO_SIGMA = 1.4826
"""Scales the median absolute deviation to a Gaussian sigma."""

PREVIEW_STATS_STEP = STATS_STEP
"""Statistics use every STATS_STEP-th row and column, as the header's do (measure.py): the
median barely moves, time halves, and a frame counted for one is counted for both."""

FULL_SCALE = 65535.0
"""The uint16 range the stretch is normalised to."""

UINT16_VALUES = 65536


def midtones_transfer(balance: float, x: np.ndarray) -> np.ndarray:
    """PixInsight's MTF: 0->0, 1->1, `balance`->0.5, smooth and monotonic in between."""
    return ((balance - 1.0) * x) / ((2.0 * balance - 1.0) * x - balance)


def stretch(image: np.ndarray, histogram: Histogram | None = None, *, flip: bool = False) -> np.ndarray:
    """Auto-stretch ADU to uint8 so the sky background sits at TARGET_BACKGROUND grey.

    uint16 input goes through a 65536-entry table of the very same per-pixel arithmetic, so the
    result is identical and a 768² frame costs one lookup per pixel instead of ten float passes
    (np.take: half the time of indexing the table with the image). `histogram` is the
    image's sample histogram when the caller has it (measure.sample_histogram: the header's
    statistics count the same pixels). `flip` returns the rows upside down, at no cost.
    """
    if image.dtype == np.uint16:
        x_table = _uint16_normalised()
        if histogram is None or histogram.step != PREVIEW_STATS_STEP:
            histogram = sample_histogram(image, PREVIEW_STATS_STEP)
        present = histogram.present
        x_present, n_present = x_table[present], histogram.counts[present]
        median = _counted_median(x_present, n_present)
        mad = _counted_median(np.abs(x_present - median), n_present)
        # the lookup writes the flipped picture directly (take returns a contiguous array)
        return np.take(_stretched(x_table, median, mad, image), image[::-1] if flip else image)
    if flip:
        return np.ascontiguousarray(stretch(image)[::-1])
    x = _normalised(image)
    sample = x[::PREVIEW_STATS_STEP, ::PREVIEW_STATS_STEP]
    median = float(np.median(sample))
    return _stretched(x, median, float(np.median(np.abs(sample - median))), image)


@functools.lru_cache(maxsize=1)
def _uint16_normalised() -> np.ndarray:
    """_normalised of every uint16 value (read-only: shared by every frame)."""
    table = _normalised(np.arange(UINT16_VALUES, dtype=np.float32))
    table.flags.writeable = False
    return table


def _normalised(image: np.ndarray) -> np.ndarray:
    return np.clip(image / np.float32(FULL_SCALE), 0.0, 1.0, dtype=np.float32)


def _counted_median(values: np.ndarray, counts: np.ndarray) -> float:
    """np.median of the multiset holding each of `values` `counts` times, without building
    it: the middle one or two values, averaged as np.median does (so the result is identical)."""
    order = np.argsort(values, kind="stable")
    ranked, ends = values[order], np.cumsum(counts[order])
    total = int(ends[-1])
    middle = [total // 2] if total % 2 else [total // 2 - 1, total // 2]
    picked = ranked[np.searchsorted(ends, middle, side="right")]
    return float(np.median(picked))


def _stretched(x: np.ndarray, median: float, mad: float, raw: np.ndarray) -> np.ndarray:
    """uint8 of every value in `x` (0..1), given the sample's median and median absolute
    deviation; when the sample is flat the range is `raw`'s min and max."""
    madn = MAD_TO_SIGMA * mad
    if madn <= 0.0:
        low, high = float(_normalised(raw.min())), float(_normalised(raw.max()))
        scaled = (x - low) / (high - low) if high > low else np.zeros_like(x)
        return np.round(scaled * 255.0).astype(np.uint8)
    shadows = min(max(median + SHADOWS_CLIP * madn, 0.0), 1.0)
    if shadows >= 1.0:
        return np.full(x.shape, 255, dtype=np.uint8)
    balance = float(midtones_transfer(TARGET_BACKGROUND, np.float32(median - shadows)))
    clipped = np.clip((x - np.float32(shadows)) / np.float32(1.0 - shadows), 0.0, 1.0)
    stretched = midtones_transfer(balance, clipped)
    return np.round(stretched * 255.0).astype(np.uint8)


def make_preview(pixels: np.ndarray, long_side: int, *, height: int | None = None,
                 histogram: Histogram | None = None) -> Image.Image:
    """The 10.jpg picture: north up (FITS row 0 is the bottom), long side `long_side` or less.

    With `height`, the picture is exactly that high and as wide as the frame's aspect makes it
    (ptr-observatory's 900-px JPG, mainjpeg.py with squash_on_x_axis); `long_side` is ignored.
    A frame smaller than asked is not enlarged: that would invent detail. `histogram` is
    `pixels`' sample histogram if the caller has one; it is used when no binning comes first.
    """
    if long_side < 1 or (height is not None and height < 1):
        raise UsageError(f"preview size {height or long_side!r} is not allowed: use a positive integer")
    rows, cols = pixels.shape
    if height is not None:
        long_side = max(1, round(max(rows, cols) * height / rows))
    factor = max(1, max(rows, cols) // long_side)
    binned = pixels if factor == 1 and pixels.dtype == np.uint16 else block_mean(pixels, factor)
    picture = Image.fromarray(stretch(binned, histogram if binned is pixels else None, flip=True))
    if height is not None and height < picture.height:
        size = (max(1, round(picture.width * height / picture.height)), height)
        return picture.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
    scale = long_side / max(picture.size)
    if scale < 1.0:
        size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
        picture = picture.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
    return picture


def make_thumbnail(preview: Image.Image, height: int = THUMBNAIL_HEIGHT) -> Image.Image:
    """The 11.jpg picture, `height` pixels high, same aspect as the preview."""
    width = max(1, round(preview.width * height / preview.height))
    return preview.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)


def jpeg_bytes(picture: Image.Image, quality: int = DEFAULT_QUALITY) -> bytes:
    """Encode as baseline JPEG; the same picture always gives the same bytes."""
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
