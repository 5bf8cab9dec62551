"""Test-wide guards: every test gets its own state home, and nothing leaves the machine."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

from localsite_fixtures import (  # one real local Photon Ranch per session and database engine
    add_site_db_option,
    local_site,
    parametrize_site_engine,
    postgres,
    site_database,
    site_db_at,
    site_engine,
)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_local(address: object) -> bool:
    if not isinstance(address, tuple) or not address:
        return True  # AF_UNIX paths and the like
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name that is not localhost: refuse rather than resolve


def _guarded(real):  # type: ignore[no-untyped-def]
    def connect(self, address):  # type: ignore[no-untyped-def]
        if not _is_local(address):
            raise ConnectionRefusedError(f"tests may only connect to loopback, not {address!r}")
        return real(self, address)

    return connect


@pytest.fixture(autouse=True, scope="session")
def _loopback_only():  # type: ignore[no-untyped-def]
    socket.socket.connect = _guarded(_real_connect)  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded(_real_connect_ex)  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


S3_FIXTURES = ("local_site",)
"""Fixtures that start the real S3 server: a test using one is an s3 test, whatever it says."""

NOT_MARKED_S3 = """#!/bin/sh
echo "this test starts the S3 server (weed) but is not marked @pytest.mark.s3" >&2
exit 3
"""


def pytest_addoption(parser: pytest.Parser) -> None:
    add_site_db_option(parser)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_site_engine(metafunc)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(name in getattr(item, "fixturenames", ()) for name in S3_FIXTURES):
            item.add_marker(pytest.mark.s3)


@pytest.fixture(autouse=True)
def _s3_marker_is_true(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`-m "not s3"` must never start weed: an unmarked test gets a weed that refuses to run.

    It goes through $SEND_TEST_IMAGES_WEED, so it also reaches `up` and `serve` run as
    subprocesses; the test then fails with the line above in weed's log.
    """
    if request.node.get_closest_marker("s3") is not None:
        return
    fake = tmp_path_factory.mktemp("not-s3") / "weed"
    fake.write_text(NOT_MARKED_S3)
    fake.chmod(0o755)
    monkeypatch.setenv("SEND_TEST_IMAGES_WEED", str(fake))


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Counters, journal and local-site data of one test never leak into another or the user's."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("SEND_TEST_IMAGES_HOME", str(home))
    monkeypatch.delenv("SEND_TEST_IMAGES_API", raising=False)
    return home
