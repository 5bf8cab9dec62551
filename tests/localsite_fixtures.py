"""Shared helpers for the local-site tests: one real site per session, and tiny products.

The site is real (weed on loopback, the watcher, uvicorn), because what matters is that weed
enforces the presigned policies and that ingestion reacts to real S3 events.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from astropy.io import fits
from PIL import Image

from send_test_images.localsite import LocalSite

WAIT_SECONDS = 10.0
"""Ingestion normally takes well under a second; this only bounds a broken run."""
POLL_SECONDS = 0.02
JPG_SIZE = (300, 200)

T = TypeVar("T")


EXPIRY_CHECK_SECONDS = 0.1
"""The session site looks for expired images this often, so expiry tests wait a moment, not 5 s."""


class SiteClock:
    """The session site's clock: real time plus an offset a test may move (and must move back)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


SITE_CLOCK = SiteClock()


@pytest.fixture(scope="session")
def local_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSite]:
    data_dir = tmp_path_factory.mktemp("localsite")
    with LocalSite.start(data_dir, clock=SITE_CLOCK, expiry_check_s=EXPIRY_CHECK_SECONDS) as site:
        yield site


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = WAIT_SECONDS) -> T:
    """Poll `probe` until it returns something truthy; fail the test naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(POLL_SECONDS)


def presign(api_url: str, body: dict[str, Any], path: str = "/upload") -> httpx.Response:
    """POST the body the way the seed script does: JSON text with no content type at all."""
    return httpx.post(api_url + path, content=json.dumps(body).encode())


def post_file(presigned: dict[str, Any], data: bytes, filename: str) -> httpx.Response:
    """The S3 half: every field as a form field, the file last as `file`."""
    return httpx.post(presigned["url"], data=presigned["fields"], files={"file": (filename, data)})


def upload(api_url: str, name: str, data: bytes, **body: Any) -> httpx.Response:
    answer = presign(api_url, {"object_name": name, **body})
    answer.raise_for_status()
    return post_file(answer.json(), data, name)


def make_header_text(**cards: Any) -> bytes:
    """A `.txt` header as sites write it: astropy's 80-character cards, no newlines."""
    header = fits.Header()
    for key, value in cards.items():
        header[key.replace("_", "-")] = value
    return str(header).encode("ascii")


def make_jpg(size: tuple[int, int] = JPG_SIZE) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (40, 80, 120)).save(out, format="JPEG")
    return out.getvalue()


def recent_keys(api_url: str, site: str | None = None) -> set[str]:
    """The upload log's keys (only `data/`, as the real log); `site` None asks for `site=all`."""
    params = {"site": site or "all"}
    return {row["filename"] for row in httpx.get(api_url + "/recentuploads", params=params).json()}


def latest(api_url: str, site: str, base: str) -> dict[str, Any] | None:
    rows = httpx.get(f"{api_url}/{site}/latest_images/50").json()
    return next((row for row in rows if row["base_filename"] == base), None)

