"""The JPG previews: what a person sees in the web UI and the thumbnail strip."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from send_test_images.errors import UsageError
from send_test_images.exposure.binning import block_mean
from send_test_images.exposure.preview import (
    TARGET_BACKGROUND,
    THUMBNAIL_HEIGHT,
    jpeg_bytes,
    make_preview,
    make_thumbnail,
    stretch,
)

BACKGROUND = 1000.0
NOISE = 10.0


def sky(shape: tuple[int, int], seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(BACKGROUND, NOISE, shape).round().astype(np.uint16)


def test_block_mean_averages_each_block_and_drops_partial_ones() -> None:
    pixels = np.arange(7 * 9, dtype=np.uint16).reshape(7, 9)
    binned = block_mean(pixels, 3)
    assert binned.shape == (2, 3)
    for row in range(2):
        for col in range(3):
            block = pixels[row * 3 : row * 3 + 3, col * 3 : col * 3 + 3]
            assert binned[row, col] == pytest.approx(block.mean())


def test_block_mean_does_not_overflow_on_saturated_pixels() -> None:
    pixels = np.full((8, 8), 65535, dtype=np.uint16)
    assert np.all(block_mean(pixels, 4) == 65535)


@pytest.mark.parametrize("factor", [0, -2, 2.0])
def test_block_mean_refuses_bad_factors(factor: object) -> None:
    with pytest.raises(UsageError, match="binning factor"):
        block_mean(np.zeros((4, 4), np.uint16), factor)  # type: ignore[arg-type]


def test_stretch_puts_the_sky_at_the_target_grey_and_keeps_faint_stars_visible() -> None:
    image = sky((200, 200)).astype(np.float32)
    image[50, 50] = BACKGROUND + 5 * NOISE  # a faint star, 5 sigma
    image[150, 150] = 30000.0  # a bright one
    out = stretch(image)
    assert out.dtype == np.uint8
    assert abs(np.median(out) - TARGET_BACKGROUND * 255) < 0.05 * 255
    assert int(out[50, 50]) > np.median(out) + 40
    assert out[150, 150] == 255


def test_stretch_of_a_flat_image_is_still_a_picture() -> None:
    out = stretch(np.full((16, 16), 1234.0, dtype=np.float32))
    assert out.shape == (16, 16)
    assert out.dtype == np.uint8


def test_preview_long_side_is_the_requested_size_and_keeps_aspect() -> None:
    picture = make_preview(sky((1000, 2000)), 768)
    assert picture.size == (768, 384)


def test_preview_never_enlarges_a_small_frame() -> None:
    picture = make_preview(sky((300, 500)), 768)
    assert picture.size == (500, 300)


def test_preview_shows_north_up_so_fits_row_zero_is_at_the_bottom() -> None:
    pixels = sky((256, 256))
    pixels[:8, :] = 60000  # FITS rows 1..8: the bottom of the sky picture
    picture = np.asarray(make_preview(pixels, 128))
    assert picture[-1].mean() > 250
    assert picture[0].mean() < 200


def test_thumbnail_is_128_high_with_the_preview_aspect() -> None:
    thumbnail = make_thumbnail(make_preview(sky((400, 800)), 768))
    assert thumbnail.size == (2 * THUMBNAIL_HEIGHT, THUMBNAIL_HEIGHT)


def test_jpeg_bytes_are_a_decodable_jpeg_and_repeatable() -> None:
    picture = make_preview(sky((200, 300)), 768)
    data = jpeg_bytes(picture)
    assert data == jpeg_bytes(picture)
    with Image.open(io.BytesIO(data)) as decoded:
        assert decoded.format == "JPEG"
        assert decoded.size == (300, 200)
