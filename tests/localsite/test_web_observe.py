"""The observe page in a real headless browser: what a developer sees after `send-test-images up`.

Debian's chromium driven by Playwright (never Playwright's own browser download). Exposures are
made by `products` and sent by the project's `Uploader` into the session's real local site; the
page must show them by itself, without a reload. A screenshot is left in `artifacts/` at the
repo root, and the time from the last 204 to the thumbnail in the page in
`artifacts/observe-timing.json` (a measurement, not an assertion).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from observe_browser import APPEAR_TIMEOUT_MS, ARTIFACTS, browser_page, needs_chromium, screenshot, thumb
from send_test_images.exposure.products import Product, make_products
from send_test_images.exposure.profiles import get_camera
from send_test_images.exposure.spec import ExposureSpec
from send_test_images.localsite import LocalSite
from send_test_images.localsite.headertext import parse_header_text
from send_test_images.sending.client import Uploader

SITE = "web"
INST = "cam1"
CAMERA = "sq768"
STACK_LENGTH = 3
pytestmark = [pytest.mark.s3, needs_chromium]


def make_exposure(number: int, *, smartstack: tuple[str, int, int] | None = None) -> list[Product]:
    spec = ExposureSpec(site=SITE, inst=INST, number=number, files="hjf", camera=get_camera(CAMERA),
                        seed=number, smartstack=smartstack)
    return make_products(spec)


def send(uploader: Uploader, products: list[Product], **where: Any) -> float:
    """Upload in the order a site does (header first); returns the monotonic time of the last 204."""
    for product in products:
        result = uploader.send(product.data, str(product.name), **where)
        assert result.status == 204
    return time.monotonic()


def header_of(products: list[Product]) -> dict[str, str]:
    text = next(p for p in products if str(p.name).endswith(".txt")).data.decode("ascii")
    return parse_header_text(text)


@pytest.fixture(scope="module")
def page(local_site: LocalSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from browser_page(tmp_path_factory)


def test_uploads_appear_without_reload_and_open_with_their_header(local_site: LocalSite, page: Any) -> None:
    api = local_site.api_url
    page.goto(f"{api}/site/{SITE}/observe")
    page.wait_for_selector("#status.live")
    page.evaluate("window.__sameDocument = true")

    first = make_exposure(1)
    first_base = first[0].name.base
    with Uploader(api, retries=0) as uploader:
        sent = send(uploader, first)
        page.wait_for_selector(thumb(first_base), timeout=APPEAR_TIMEOUT_MS)
        appeared_s = time.monotonic() - sent

        frames = [make_exposure(10 + i, smartstack=("stk1", i, STACK_LENGTH)) for i in range(STACK_LENGTH)]
        for frame in frames:
            send(uploader, frame)
        for channel, number in ((1, 90), (2, 91)):
            name = f"{SITE}-{INST}-20261123-{number:08d}-EX10.jpg"
            jpg = next(p for p in frames[channel - 1] if str(p.name).endswith(".jpg")).data
            uploader.send(jpg, name, s3_directory="info-images", info_channel=channel)

    top_frame = frames[-1][0].name.base
    page.wait_for_selector(thumb(top_frame), timeout=APPEAR_TIMEOUT_MS)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened

    # a smartstack is one card: its highest SSTKNUM frame, with the stack's length
    for frame in frames[:-1]:
        assert page.locator(thumb(frame[0].name.base)).count() == 0
    assert page.locator(f"{thumb(top_frame)} .stack").inner_text() == f"stack {STACK_LENGTH}/{STACK_LENGTH}"
    bases = page.locator("#strip li.thumb").evaluate_all("nodes => nodes.map(n => n.dataset.base)")
    assert bases == [top_frame, first_base]  # newest first

    # info images beside the main image
    page.wait_for_selector('.info-panel[data-channel="2"] img:not([hidden])', timeout=APPEAR_TIMEOUT_MS)
    page.wait_for_function(
        "() => [1, 2].every(c => document.querySelector(`.info-panel[data-channel='${c}'] img`).naturalWidth > 0)",
        timeout=APPEAR_TIMEOUT_MS,
    )
    assert page.locator('.info-panel[data-channel="3"] .placeholder').is_visible()

    # click the first exposure: its image, capture details and header
    page.click(thumb(first_base))
    page.wait_for_selector(f'#header-table[data-base="{first_base}"]')
    expected = header_of(first)
    for key in ("FILTER", "EXPTIME", "DATE-OBS", "USERNAME", "SITEID", "INSTRUME", "AIRMASS"):
        cell = page.locator(f'#header-table tr[data-key="{key}"] td').nth(1)
        assert cell.inner_text() == expected[key], key
    assert page.locator("#image-name").inner_text() == first_base
    assert page.locator('#capture dd[data-field="filter"]').inner_text() == expected["FILTER"]
    assert page.locator('#capture dd[data-field="exposure"]').inner_text() == f"{float(expected['EXPTIME']):g} s"
    assert not page.locator("#follow").is_checked()  # an older image stays put while new ones arrive
    page.wait_for_function("() => document.getElementById('main-image').naturalWidth > 0")

    # its FITS file downloads through the page's link
    link = page.locator("#files a[download]").first
    fits = next(p for p in first if ".fits" in str(p.name))
    assert link.inner_text() == str(fits.name)
    downloaded = httpx.get(api + link.get_attribute("href"), follow_redirects=True)
    assert downloaded.content == fits.data

    assert SITE in page.locator("#sites a").all_inner_texts()

    screenshot(page, "observe")
    (ARTIFACTS / "observe-timing.json").write_text(json.dumps(
        {"seconds_from_last_204_to_thumbnail": round(appeared_s, 3), "poll_ms": 1000}, indent=2
    ))


def test_a_hostile_header_value_is_shown_as_text(local_site: LocalSite, page: Any) -> None:
    products = make_exposure(40)
    base = products[0].name.base
    header = products[0].data.decode("ascii")
    evil = "<img src=x onerror=window.__owned=1>"
    card = f"{'OBSERVER':<8}= '{evil}'".ljust(80)
    patched = header.replace("END" + " " * 77, card + "END" + " " * 77, 1).encode("ascii")
    with Uploader(local_site.api_url, retries=0) as uploader:
        uploader.send(patched, str(products[0].name))
        send(uploader, products[1:])
    page.goto(f"{local_site.api_url}/site/{SITE}/observe")
    page.click(thumb(base), timeout=APPEAR_TIMEOUT_MS)
    page.wait_for_selector(f'#header-table[data-base="{base}"]')
    assert page.locator('#header-table tr[data-key="OBSERVER"] td').nth(1).inner_text() == evil
    assert page.evaluate("window.__owned") is None
