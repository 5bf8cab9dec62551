"""EP and EF images at site `tst` really go away after 300 s: rows, listings and S3 objects.

The session site runs on a clock the test can move (`SITE_CLOCK`) and looks for expired objects
every `EXPIRY_CHECK_SECONDS` by itself (the first test waits for that); nobody waits five minutes.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from send_test_images.localsite import LocalSite

from localsite_fixtures import SITE_CLOCK, latest, make_header_text, make_jpg, recent_keys, upload, wait_for

pytestmark = pytest.mark.s3

TST_LIFETIME_S = 300.0
HEADER = make_header_text(DATE_OBS="2026-11-24T03:04:05", CRVAL1=15.0, CRVAL2=5.0, EXPTIME=1.0)


@pytest.fixture
def clock() -> Iterator[object]:
    yield SITE_CLOCK
    SITE_CLOCK.offset = 0.0


def send_exposure(api: str, base: str, data_type: str) -> None:
    assert upload(api, f"{base}-{data_type}00.txt", HEADER).status_code == 204
    assert upload(api, f"{base}-{data_type}10.jpg", make_jpg()).status_code == 204


def test_tst_experimental_and_focus_images_expire_after_300_s(local_site: LocalSite, clock: object) -> None:
    api = local_site.api_url
    expiring = {"EP": "tst-inst-20261123-00000500", "EF": "tst-inst-20261123-00000501"}
    keeper = "tst-inst-20261123-00000502"
    for data_type, base in expiring.items():
        send_exposure(api, base, data_type)
    send_exposure(api, keeper, "EX")
    for base in [*expiring.values(), keeper]:
        wait_for(lambda b=base: (r := latest(api, "tst", b)) and r["jpg_small_exists"], f"{base} listed")
    assert local_site.wait_idle(10)

    SITE_CLOCK.offset = TST_LIFETIME_S - 30  # not yet
    assert not [key for key in local_site.sweep_expired() if any(b in key for b in expiring.values())]
    assert all(latest(api, "tst", base) for base in expiring.values())

    SITE_CLOCK.offset = TST_LIFETIME_S + 1
    for base in expiring.values():
        wait_for(lambda b=base: latest(api, "tst", b) is None, f"{base} to leave latest_images")
    wait_for(lambda: not any(k.startswith(tuple(f"data/{b}" for b in expiring.values()))
                             for k in recent_keys(api, "tst")), "the expired objects to leave recentuploads")
    for data_type, base in expiring.items():
        assert httpx.get(f"{api}/image/{base}").status_code == 404
        for suffix in ("00.txt", "10.jpg", "11.jpg"):
            gone = httpx.get(f"{api}/download/data/{base}-{data_type}{suffix}")
            assert gone.status_code == 404, suffix
    assert latest(api, "tst", keeper) is not None  # EX never expires
    assert httpx.get(f"{api}/download/data/{keeper}-EX10.jpg").status_code == 307


def test_experimental_images_elsewhere_outlive_300_s(local_site: LocalSite, clock: object) -> None:
    api, base = local_site.api_url, "mrc-inst-20261123-00000503"
    send_exposure(api, base, "EP")
    wait_for(lambda: latest(api, "mrc", base), "the EP image at mrc")
    assert local_site.wait_idle(10)
    SITE_CLOCK.offset = TST_LIFETIME_S + 60
    assert not [key for key in local_site.sweep_expired() if base in key]
    assert httpx.get(f"{api}/download/data/{base}-EP10.jpg").status_code == 307
    assert latest(api, "mrc", base) is not None
