"""The thumbnail ingestion makes of every 10.jpg, as the real service does."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from send_test_images.localsite.ingest import THUMBNAIL_QUALITY, make_thumbnail


def test_thumbnail_is_128_pixels_high_with_the_same_aspect() -> None:
    source = io.BytesIO()
    Image.new("RGB", (768, 512), (1, 2, 3)).save(source, format="JPEG")
    with Image.open(io.BytesIO(make_thumbnail(source.getvalue()))) as thumbnail:
        assert (thumbnail.format, thumbnail.size) == ("JPEG", (192, 128))


@pytest.mark.parametrize("mode", ["L", "RGB", "CMYK"])
def test_thumbnail_is_the_rgb_lanczos_reduction_of_the_decoded_source(mode: str) -> None:
    """Whatever the order of the steps inside, the pixels are those of decoding the source,
    making it RGB and resizing it with LANCZOS (a grey source stays grey)."""
    source = io.BytesIO()
    Image.effect_noise((300, 200), 60).convert(mode).save(source, format="JPEG", quality=95)
    with Image.open(io.BytesIO(source.getvalue())) as decoded:
        decoded.draft("RGB", (192, 128))
        expected = decoded.convert("RGB").resize((192, 128), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    expected.save(out, format="JPEG", quality=THUMBNAIL_QUALITY)
    made = make_thumbnail(source.getvalue())
    assert made == out.getvalue()
    with Image.open(io.BytesIO(made)) as thumbnail:
        assert thumbnail.mode == "RGB"
        if mode == "L":
            red, green, blue = thumbnail.split()
            assert red.tobytes() == green.tobytes() == blue.tobytes()
