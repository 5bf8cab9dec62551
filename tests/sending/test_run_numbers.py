"""How a run learns its first number costs no more requests than it needs.

A site that reserves numbers (the local one) counts what it stores, so listing its newest images
first was two requests of every run's start-up for nothing; a site without the service (the real
API) is listed once and not asked for a reservation again.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from send_test_images.exposure.options import BatchOptions
from send_test_images.localsite import LocalSite
from send_test_images.sending.run import _SiteNumbers

from fault_proxy import FaultProxy
from inprocess import up
from loopback_server import LoopbackServer

LISTINGS = ("/tst/latest_images/100", "/recentuploads")
WAIT_S = 10.0
"""Bounds a broken test: the proxy records an answer just after the client has it."""


def asked_of(proxy: FaultProxy, until: int) -> list[tuple[str, str]]:
    """(method, path) of every request but presigns, once at least `until` of them are recorded."""
    deadline = time.monotonic() + WAIT_S
    while True:
        asked = [(d.method, d.path.split("?")[0]) for d in proxy.delivered if d.path.split("?")[0] != "/upload"]
        if len(asked) >= until or time.monotonic() > deadline:
            return asked
        time.sleep(0.05)


@pytest.mark.s3
def test_a_run_into_a_site_that_reserves_asks_it_once_and_lists_nothing(local_site: LocalSite,
                                                                        tmp_path: Path) -> None:
    with FaultProxy(local_site.api_url) as api:
        ran = up(api.url, inst="nlist", repeat=2, files="h")
        asked = asked_of(api, until=2)
    assert ran.code == 0, ran.err
    # the newest exposure, for the run's clock (runs follow each other), and the reservation:
    # never the listings of every file number
    assert asked == [("GET", "/tst/latest_images/1"), ("POST", "/numbers/reserve")]
    assert "numbers from 1," in ran.out


def test_a_site_without_the_service_is_listed_once_and_not_asked_again() -> None:
    with LoopbackServer() as server, FaultProxy(server.url) as api:
        server.latest_images["tst"] = [{"base_filename": "tst-cam-20261130-00000041"}]
        numbers = _SiteNumbers(api.url, BatchOptions(site="tst", inst="cam"), timeout=5.0)
        assert numbers.reserve(100, 0) is None
        assert numbers.reserve(100, 100) is None
        assert numbers.highest() == 41
        assert numbers.highest() == 41
        asked = asked_of(api, until=3)
    assert asked == [("POST", "/numbers/reserve"), *(("GET", path) for path in LISTINGS)]
