"""A hostile `10.jpg` never escapes ingestion: it is recorded, listed, and simply gets no thumbnail.

Found under issue 11: a JPEG whose header claims 60000x60000 pixels made Pillow raise
DecompressionBombError, which the thumbnail step did not expect, so the object was never recorded
(missing from `recentuploads`) and ingestion logged a traceback. A PNG named `.jpg` was decoded
in full, however large its pixel count (a few hundred KB can claim 100+ megapixels).
"""

from __future__ import annotations

import io
import logging
import struct

import httpx
import pytest
from PIL import Image

from send_test_images.localsite import LocalSite
from send_test_images.localsite.ingest import make_thumbnail

from localsite_fixtures import make_jpg, recent_keys, upload, wait_for

pytestmark = pytest.mark.s3

SITE = "img"
SOF0 = b"\xff\xc0"


def jpg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF0) claims `width` x `height` pixels."""
    data = bytearray(make_jpg((8, 8)))
    at = data.index(SOF0)
    data[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64)).save(out, format="PNG")
    return out.getvalue()


def test_only_jpegs_are_thumbnailed() -> None:
    with pytest.raises(OSError):
        make_thumbnail(png_bytes())
    assert make_thumbnail(make_jpg((256, 128)))[:2] == b"\xff\xd8"


@pytest.mark.parametrize("number, data", [(1, jpg_claiming(60_000, 60_000)), (2, png_bytes()),
                                          (3, b"\xff\xd8\xff" + b"\x00" * 100)])
def test_a_hostile_10_jpg_is_recorded_without_a_thumbnail(
    local_site: LocalSite, caplog: pytest.LogCaptureFixture, number: int, data: bytes
) -> None:
    api = local_site.api_url
    base = f"{SITE}-inst-20261130-{number:08d}"
    with caplog.at_level(logging.WARNING, logger="send_test_images.localsite"):
        assert upload(api, base + "-EX10.jpg", data).status_code == 204
        wait_for(lambda: f"data/{base}-EX10.jpg" in recent_keys(api, SITE), "the jpg in recentuploads")
        assert local_site.wait_idle(10.0)
    row = httpx.get(f"{api}/image/{base}").json()
    assert row["jpg_medium_exists"] is True
    assert row["jpg_small_exists"] is None  # true or null, never false: `Image.get_image_pkg`
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "ingestion failed with a traceback"
    assert any("no thumbnail for" in r.getMessage() for r in caplog.records)
