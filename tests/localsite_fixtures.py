"""Shared helpers for the local-site tests: one real site per session, and tiny products.

The site is real (weed on loopback, the watcher, uvicorn), because what matters is that weed
enforces the presigned policies and that ingestion reacts to real S3 events.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from astropy.io import fits
from PIL import Image

from postgres_server import PostgresServer, find_postgres_bin
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


SQLITE, POSTGRESQL = "sqlite", "postgresql"
ENGINES = (SQLITE, POSTGRESQL)
BOTH_ENGINES = ("test_db.py", "test_numbers.py", "test_ingest.py", "test_site.py", "test_web_api.py")
"""The site's test modules that run on SQLite and on PostgreSQL by default: the database's own
queries, ingestion, number reservations, restarts and the API (test_engines.py is about
PostgreSQL and an external S3 only). `--site-db` runs every module that uses a site database on
the one engine it names (or `both`)."""


def add_site_db_option(parser: pytest.Parser) -> None:
    parser.addoption("--site-db", choices=(*ENGINES, "both"), default=None,
                     help="run every local-site test on this database (default: both engines for "
                     f"{', '.join(BOTH_ENGINES)}, SQLite for the rest)")


def parametrize_site_engine(metafunc: pytest.Metafunc) -> None:
    """Give every test that uses a site database its engine(s), as one session-wide parameter, so
    all tests on one engine share one session site."""
    if "site_engine" not in metafunc.fixturenames:
        return
    chosen = metafunc.config.getoption("--site-db")
    if chosen is None:
        engines = ENGINES if metafunc.definition.path.name in BOTH_ENGINES else (SQLITE,)
    else:
        engines = ENGINES if chosen == "both" else (chosen,)
    metafunc.parametrize("site_engine", engines, indirect=True, scope="session")


@pytest.fixture(scope="session")
def site_engine(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", SQLITE))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole run, started on first use, stopped at the end."""
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        pytest.fail("PostgreSQL's initdb and postgres are not installed: run ./dev test, which installs "
                    "Debian's postgresql package, or run with --site-db sqlite")
    server = PostgresServer(bin_dir).start()
    try:
        yield server
    finally:
        server.stop()


def _new_database(engine: str, request: pytest.FixtureRequest) -> str | None:
    """None (SQLite in the data dir) or a fresh PostgreSQL database's URL."""
    return request.getfixturevalue("postgres").new_database() if engine == POSTGRESQL else None


@pytest.fixture
def site_database(site_engine: str, request: pytest.FixtureRequest) -> str | None:
    """A database of its own for a test that starts its own site: None means SQLite in its data dir."""
    return _new_database(site_engine, request)


@pytest.fixture
def site_db_at(site_engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a bare `SiteDB` of one test lives: an SQLite file in its tmp dir, or a fresh database."""
    return _new_database(site_engine, request) or tmp_path / "site.sqlite3"


@pytest.fixture(scope="session")
def local_site(site_engine: str, request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSite]:
    data_dir = tmp_path_factory.mktemp(f"localsite-{site_engine}")
    with LocalSite.start(data_dir, clock=SITE_CLOCK, expiry_check_s=EXPIRY_CHECK_SECONDS,
                         db=_new_database(site_engine, request)) as site:
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

