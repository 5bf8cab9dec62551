"""The observe page's tools, each as a user meets it in a real browser (issue 14).

Each test sends its own images to its own site on the session's real local site, opens the page
in chromium and checks what is on the screen; each leaves a screenshot in `artifacts/`.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pytest
from astropy.io import fits

from observe_browser import APPEAR_TIMEOUT_MS, browser_page, needs_chromium, screenshot, thumb
from send_test_images.exposure.products import Product, make_products
from send_test_images.exposure.profiles import get_camera, get_site
from send_test_images.exposure.spec import ExposureSpec
from send_test_images.localsite import LocalSite
from send_test_images.localsite.headertext import parse_header_text
from send_test_images.sending.client import Uploader

from localsite_fixtures import make_header_text, make_jpg, upload, wait_for

pytestmark = [pytest.mark.s3, needs_chromium]

STRIP = 48
FORM_ORDER = ("start", "end", "filter", "exposure_min", "exposure_max", "user", "filename")
"""The filter form's fields in page order: the order the page puts them in its query."""
"""Cards on one page of the strip (`pages.DEFAULT_STRIP_LENGTH`)."""


@pytest.fixture(scope="module")
def page(local_site: LocalSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from browser_page(tmp_path_factory)


def cheap_image(api: str, site: str, number: int, when: dt.datetime, **cards: Any) -> str:
    """A header and a JPG, the two files that make a card; returns the base filename."""
    base = f"{site}-cam1-20261120-{number:08d}"
    header = make_header_text(DATE_OBS=when.strftime("%Y-%m-%dT%H:%M:%S"), CRVAL1=10.0, CRVAL2=20.0, **cards)
    assert upload(api, f"{base}-EX00.txt", header).status_code == 204
    assert upload(api, f"{base}-EX10.jpg", make_jpg((96, 64))).status_code == 204
    return base


def stored(api: str, site: str, count: int) -> None:
    """Wait until the site lists `count` images (ingestion is asynchronous)."""
    wait_for(lambda: len(httpx.get(f"{api}/{site}/latest_images/1000").json()) >= count, f"{count} images at {site}")


def real_exposure(site: str, number: int) -> list[Product]:
    # the default frame: catalogue stars, which point sq768 at a dense cluster (a crowded field)
    spec = ExposureSpec(site=site, inst="cam1", number=number, files="hjf", camera=get_camera("sq768"), seed=number)
    return make_products(spec)


def send_real(api: str, products: list[Product], **where: Any) -> None:
    with Uploader(api, retries=0) as uploader:
        for product in products:
            assert uploader.send(product.data, str(product.name), **where).status == 204


def header_of(products: list[Product]) -> dict[str, str]:
    return parse_header_text(next(p for p in products if str(p.name).endswith(".txt")).data.decode("ascii"))


def strip_bases(page: Any) -> list[str]:
    return page.locator("#strip li.thumb").evaluate_all("nodes => nodes.map(n => n.dataset.base)")


def polled(page: Any) -> None:
    """Wait for an answer of the page's own poll (its status line names the page then)."""
    page.wait_for_function("() => document.getElementById('status').textContent.includes('page ')",
                           timeout=APPEAR_TIMEOUT_MS)


def test_the_first_paint_shows_stored_images_without_waiting_for_a_poll(local_site: LocalSite, page: Any) -> None:
    api, site = local_site.api_url, "paint"
    start = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
    bases = [cheap_image(api, site, n, start + dt.timedelta(minutes=n)) for n in range(1, 4)]
    stored(api, site, 3)
    page.route("**/observe.json*", lambda route: route.abort())  # the feed never answers
    try:
        page.goto(f"{api}/site/{site}/observe")
        assert page.locator("#no-image").is_hidden()
        assert strip_bases(page) == bases[::-1]
        assert page.locator("#image-name").inner_text() == bases[-1]
        page.wait_for_function("() => document.getElementById('main-image').naturalWidth > 0")
        screenshot(page, "observe-first-paint")
    finally:
        page.unroute("**/observe.json*")


def test_an_empty_site_says_so_and_a_typed_site_is_marked_no_data(local_site: LocalSite, page: Any) -> None:
    api = local_site.api_url
    cheap_image(api, "live", 1, dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC))
    stored(api, "live", 1)
    page.goto(f"{api}/site/nosuch/observe")
    polled(page)
    assert page.locator("#no-image").is_visible()
    typed = page.locator('#sites a[data-name="nosuch"]')
    assert "no data" in typed.text_content()
    assert "no-data" in typed.get_attribute("class")
    live = page.locator('#sites a[data-name="live"]')
    assert live.inner_text() == "live"
    assert "no-data" not in live.get_attribute("class")
    screenshot(page, "observe-unknown-site")


def test_the_page_ships_its_favicon(local_site: LocalSite, page: Any) -> None:
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{local_site.api_url}/site/tst/observe")
    polled(page)
    icon = page.locator('link[rel="icon"]').get_attribute("href")
    answer = httpx.get(local_site.api_url + icon)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("image/svg+xml")
    legacy = httpx.get(local_site.api_url + "/favicon.ico", follow_redirects=True)
    assert legacy.status_code == 200 and legacy.content == answer.content
    assert failed == []


def test_arrow_keys_walk_the_images_and_the_url_follows(local_site: LocalSite, page: Any) -> None:
    api, site = local_site.api_url, "nav"
    zone = ZoneInfo(get_site(site).timezone)
    noon = dt.datetime(2026, 11, 19, 12, 0, tzinfo=zone)  # this night began at local noon
    times = [noon - dt.timedelta(hours=2), *(noon + dt.timedelta(hours=h) for h in (9, 10, 11, 12))]
    bases = [cheap_image(api, site, n, when.astimezone(dt.UTC)) for n, when in enumerate(times, start=1)]
    stored(api, site, len(bases))
    newest_first = bases[::-1]

    page.goto(f"{api}/site/{site}/observe")
    assert page.locator("#image-name").inner_text() == newest_first[0]
    assert page.locator("#follow").is_checked()
    assert page.evaluate("location.pathname") == f"/site/{site}/observe"

    page.keyboard.press("ArrowRight")
    assert page.locator("#image-name").inner_text() == newest_first[1]
    assert page.evaluate("location.pathname") == f"/site/{site}/image/{newest_first[1]}"
    assert not page.locator("#follow").is_checked()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    assert page.locator("#image-name").inner_text() == newest_first[1]
    assert page.locator(f"{thumb(newest_first[1])}.selected").count() == 1

    page.keyboard.press("End")  # the first image of tonight, not yesterday's last
    assert page.locator("#image-name").inner_text() == bases[1]
    assert page.evaluate("location.pathname") == f"/site/{site}/image/{bases[1]}"
    page.keyboard.press("Home")
    assert page.locator("#image-name").inner_text() == newest_first[0]
    assert page.locator("#follow").is_checked()
    page.click("#nav-next")
    assert page.locator("#image-name").inner_text() == newest_first[1]
    page.click("#nav-previous")
    assert page.locator("#image-name").inner_text() == newest_first[0]

    # the permalink opens that image, and it stays while the page polls
    page.goto(f"{api}/site/{site}/image/{bases[2]}")
    assert page.locator("#image-name").inner_text() == bases[2]
    assert not page.locator("#follow").is_checked()
    polled(page)
    assert page.locator("#image-name").inner_text() == bases[2]
    assert page.locator("#permalink").get_attribute("href") == f"/site/{site}/image/{bases[2]}"
    screenshot(page, "observe-permalink")
    missing = httpx.get(f"{api}/site/{site}/image/{site}-cam1-20261120-99999999")
    assert missing.status_code == 404 and "No image" in missing.text


def test_filters_narrow_the_strip_and_pages_reach_past_the_newest_48(local_site: LocalSite, page: Any) -> None:
    api, site = local_site.api_url, "many"
    start = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)
    total = STRIP + 4
    bases = [
        cheap_image(api, site, n, start + dt.timedelta(minutes=n), FILTER="gp" if n % 2 else "rp",
                    EXPTIME=float(n % 5 + 1), USERNAME="ann" if n <= 10 else "bob")
        for n in range(1, total + 1)
    ]
    stored(api, site, total)
    page.goto(f"{api}/site/{site}/observe")
    assert len(strip_bases(page)) == STRIP
    assert page.locator("#page-older").is_enabled()

    page.click("#page-older")
    page.wait_for_function("() => document.getElementById('page-label').textContent === 'page 2'")
    page.wait_for_function(f"() => document.querySelectorAll('#strip li.thumb').length === {total - STRIP}")
    assert strip_bases(page) == bases[: total - STRIP][::-1]
    assert page.locator("#image-name").inner_text() == bases[total - STRIP - 1]
    assert page.locator("#page-older").is_disabled()
    page.keyboard.press("ArrowLeft")  # from the first card of page 2 back to the last of page 1
    page.wait_for_function("() => document.getElementById('page-label').textContent === 'page 1'")
    page.wait_for_function(f"() => document.getElementById('image-name').textContent === '{bases[total - STRIP]}'")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"() => document.getElementById('image-name').textContent === '{bases[total - STRIP - 1]}'")
    assert page.locator("#page-label").inner_text() == "page 2"

    def apply(**values: str) -> list[str]:
        """Fill the form as a user does and wait for the strip drawn from exactly that query."""
        page.click('#filters button[type="reset"]')
        for name, value in values.items():
            page.fill(f'#filters input[name="{name}"]', value)
        page.click('#filters button[type="submit"]')
        sent = urlencode([(name, values[name].replace("T", " ")) for name in FORM_ORDER if name in values])
        page.wait_for_selector(f'#strip[data-query="{sent}"]', state="attached", timeout=APPEAR_TIMEOUT_MS)
        assert page.locator("#strip-title").text_content() == "Matching images"
        return strip_bases(page)

    assert apply(filter="rp", user="ann") == [b for n, b in enumerate(bases, 1) if n % 2 == 0 and n <= 10][::-1]
    assert apply(exposure_min="4", exposure_max="5") == [b for n, b in enumerate(bases, 1) if n % 5 >= 3][::-1]
    assert apply(filename="00000007") == [bases[6]]
    assert apply(start="2026-11-20T01:05", end="2026-11-20T01:07") == bases[4:7][::-1]
    screenshot(page, "observe-filters")
    page.fill('#filters input[name="exposure_min"]', "9")
    page.fill('#filters input[name="exposure_max"]', "2")
    page.click('#filters button[type="submit"]')
    page.wait_for_function("() => document.getElementById('filter-error').textContent !== ''")
    assert page.locator("#filter-error").inner_text() == "exposure_min 9 is above exposure_max 2: give min at most max"
    page.click('#filters button[type="reset"]')
    page.wait_for_function(f"() => document.querySelectorAll('#strip li.thumb').length === {STRIP}")


def test_an_info_image_opens_in_the_viewer_with_its_header_and_files(local_site: LocalSite, page: Any) -> None:
    api, site = local_site.api_url, "info"
    cheap_image(api, site, 1, dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC))
    info_base = f"{site}-cam1-20261120-00000090"
    header = make_header_text(DATE_OBS="2026-11-20T03:01:00", OBJECT="focus run", FILTER="w")
    for name, data in ((f"{info_base}-EX00.txt", header), (f"{info_base}-EX10.jpg", make_jpg())):
        assert upload(api, name, data, s3_directory="info-images", info_channel=2).status_code == 204
    stored(api, site, 1)
    wait_for(lambda: httpx.get(f"{api}/site/{site}/image/{info_base}.json").json().get("header"), "the info header")
    page.goto(f"{api}/site/{site}/observe")
    page.click('.info-panel[data-channel="2"] .info-open')
    assert page.locator("#image-name").inner_text() == info_base
    assert page.locator('.info-panel[data-channel="2"]').get_attribute("class").split().count("selected") == 1
    page.wait_for_selector(f'#header-table[data-base="{info_base}"]')
    assert page.locator('#header-table tr[data-key="OBJECT"] td').nth(1).inner_text() == "focus run"
    assert page.locator('#capture dd[data-field="directory"]').inner_text() == "info-images"
    jpg_link = page.locator("#files a", has_text="JPG")
    assert httpx.get(api + jpg_link.get_attribute("href"), follow_redirects=True).content[:2] == b"\xff\xd8"
    page.wait_for_function("() => document.getElementById('main-image').naturalWidth > 0")
    screenshot(page, "observe-info-image")


def star_to_click(small_fits: bytes) -> tuple[float, float]:
    """A lone unsaturated star in the small FITS, as fractions of the JPG (top row = last FITS row).

    Chosen with plain numpy: a local maximum well above the sky whose four neighbours are bright
    too (a cosmic ray or hot pixel is one pixel) and with nothing near saturation close by.
    """
    with fits.open(io.BytesIO(small_fits)) as hdus:
        pixels = next(h.data for h in hdus if h.data is not None).astype(float)
    sky = float(np.median(pixels))
    rows, cols = pixels.shape
    for row, col in zip(*np.unravel_index(np.argsort(pixels, axis=None)[::-1], pixels.shape), strict=True):
        peak = pixels[row, col] - sky
        if not 20 <= row < rows - 20 or not 20 <= col < cols - 20 or not 1500 < peak < 20000:
            continue
        near = pixels[row - 15:row + 16, col - 15:col + 16]
        neighbours = [pixels[row + 1, col], pixels[row - 1, col], pixels[row, col + 1], pixels[row, col - 1]]
        if near.max() == pixels[row, col] and near.max() < 30000 and min(neighbours) - sky > 0.1 * peak:
            return (col + 0.5) / cols, 1 - (row + 0.5) / rows
    raise AssertionError("no lone star in the frame")


def test_fwhm_sky_histogram_and_a_clicked_stars_profile(local_site: LocalSite, page: Any) -> None:
    api, site = local_site.api_url, "stars"
    products = real_exposure(site, 1)
    base = products[0].name.base
    send_real(api, products)
    stored(api, site, 1)
    header = header_of(products)
    page.goto(f"{api}/site/{site}/observe")
    assert page.locator("#image-name").inner_text() == base

    # the info bar: FWHM (arcsec, pixels) and sky, as the header says
    fwhm_text = page.locator('#info-bar dd[data-field="fwhm"]').inner_text()
    assert fwhm_text == f"{float(header['FWHMASEC']):.2f}″ ({float(header['FWHM']):.2f} px)"
    assert page.locator('#info-bar dd[data-field="sky"]').inner_text() == f"{round(float(header['SEPSKY']))} ADU"

    # the histogram of the small FITS
    page.wait_for_selector(f'#histogram[data-base="{base}"]', timeout=APPEAR_TIMEOUT_MS)
    assert page.locator("#histogram rect.bar").count() == 64
    assert page.locator("#histogram-range").inner_text().endswith("ADU")

    # click a star: its profile, FWHM and peak
    fx, fy = star_to_click(next(p.data for p in products if "10.fits" in str(p.name)))
    page.wait_for_function("() => document.getElementById('main-image').naturalWidth > 0")
    box = page.locator("#main-image").bounding_box()
    page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
    page.wait_for_selector(f'#profile[data-base="{base}"]', timeout=APPEAR_TIMEOUT_MS)
    assert page.locator("#profile circle.point").count() >= 6  # rings out to at least 6 px
    measured = float(page.locator('#star-numbers dd[data-field="fwhm"]').inner_text().removesuffix(" px"))
    assert 0.6 * float(header["FWHM"]) < measured < 1.6 * float(header["FWHM"])
    assert page.locator('#star-numbers dd[data-field="peak"]').inner_text().endswith("ADU above sky")
    assert page.locator("#star-mark").is_visible()
    screenshot(page, "observe-star-profile")
