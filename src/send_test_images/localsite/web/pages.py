"""The observe page and its JSON: what a person looks at after `send-test-images up`.

The HTML is rendered from the package's templates (autoescaped) with the site's current state
embedded as JSON, so the strip and the newest image are there at once, not after the first
poll; the page's own script then polls `/site/{site}/observe.json` every second (with the
page's filters and page number as query parameters, `imagequery.py`) and draws the strip and the
detail, so an upload shows up without a reload and no build step or CDN is involved. Each image
has a page of its own, `/site/{site}/image/{base}` (the real UI's `/image/{base}` permalink,
LCOGT/ptr_ui `ButtonRowBelowImage.vue`, `copyImagePermalink`), and its JSON at
`…/image/{base}.json`. Files are linked through `/download/{directory}/{name}`, which redirects
to a fresh presigned URL, so links never go stale. Every handler here reads SQLite or S3, so all
are plain functions run in Starlette's thread pool.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2
from botocore.exceptions import ClientError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from send_test_images.exposure.profiles import get_site
from send_test_images.localsite import imagequery, observe, rules, validate
from send_test_images.localsite.db import SiteDB
from send_test_images.localsite.imagequery import ImageQuery
from send_test_images.localsite.s3server import is_missing
from send_test_images.localsite.web.context import context_of
from send_test_images.localsite.web.inputs import path_param
from send_test_images.localsite.web.jsonbody import FiniteJSONResponse
from send_test_images.localsite.web.problems import HTTPProblem, refuse

WEB_DIR = Path(__file__).parent
TEMPLATE_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
FAVICON = "/static/favicon.svg"

DEFAULT_SITE = "tst"
"""Where `/` goes while no site has data yet: the site `up` sends to by default."""
DEFAULT_STRIP_LENGTH = 48
ROWS_PER_CARD = 8
"""Rows read per card shown, so a strip of smartstacks still fills up after folding."""
POLL_MS = 1000
"""The page asks for news this often: an upload appears within ~1 s of being ingested."""

TEMPLATES = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True, undefined=jinja2.StrictUndefined
))
"""Static configuration, the same for every site, so it is built once at import."""


def root(request: Request) -> Response:
    """To the observe page of a site that has data, so `/` is never an empty page."""
    sites = context_of(request).db.sites_with_data()
    return RedirectResponse(f"/site/{sites[0] if sites else DEFAULT_SITE}/observe", status_code=307)


def favicon(request: Request) -> Response:
    """Browsers and tools that ask for `/favicon.ico` whatever the page says get the SVG."""
    return RedirectResponse(FAVICON, status_code=308)


def site_links(site: str, with_data: list[str]) -> list[dict[str, Any]]:
    """The switcher: every site with data, and the one asked for marked when it has none, so a
    typed or mistyped site never looks live."""
    links = [{"name": name, "has_data": True} for name in with_data]
    if site not in with_data:
        links.append({"name": site, "has_data": False})
    return links


def _query(request: Request, site: str) -> ImageQuery:
    try:
        return imagequery.parse_image_query(site, request.query_params)
    except ValueError as exc:
        raise HTTPProblem(400, str(exc)) from None


def site_state(db: SiteDB, query: ImageQuery) -> dict[str, Any]:
    """Everything the page draws for one look at a site: the observe.json body, also embedded in
    the HTML so the first paint needs no request."""
    limit = DEFAULT_STRIP_LENGTH * ROWS_PER_CARD * (query.page + 1)
    rows = db.observe_rows(query, limit)
    cards = observe.strip(rows, db.object_keys, DEFAULT_STRIP_LENGTH + 1, offset=query.page * DEFAULT_STRIP_LENGTH)
    with_data = db.sites_with_data()
    return {
        "site": query.site,
        "sites": site_links(query.site, with_data),
        "has_data": query.site in with_data,
        "cards": cards[:DEFAULT_STRIP_LENGTH],
        "page": query.page,
        "has_older": len(cards) > DEFAULT_STRIP_LENGTH or len(rows) == limit,
        "info": [_info(db, query.site, channel) for channel in rules.INFO_CHANNELS],
        "first_of_night": _first_of_night(db, query.site),
    }


def _info(db: SiteDB, site: str, channel: int) -> dict[str, Any]:
    base = db.info_channel(site, channel)
    row = db.image(base, rules.INFO_DIRECTORY) if base else None
    card = observe.single_card(row, db.object_keys(observe.keys_prefix(row))) if row else None
    return {**observe.info_card(channel, row), "card": card}


def _first_of_night(db: SiteDB, site: str) -> dict[str, Any] | None:
    """The first image of the observing night of the site's newest image (ptr_ui's "go to
    tonight's first image", `images.js` `set_first_image` over `load_latest_images`)."""
    newest = db.latest_images(site, 1)
    if not newest or newest[0].get("capture_date") is None:
        return None
    start, end = imagequery.night_bounds(newest[0]["capture_date"], get_site(site).timezone)
    row = db.first_between(site, start, end)
    return observe.single_card(row, db.object_keys(observe.keys_prefix(row))) if row else None


def _page(request: Request, site: str, selected: dict[str, Any] | None) -> Response:
    state = site_state(context_of(request).db, ImageQuery(site=site))
    context = {
        "site": site,
        "sites": state["sites"],
        "has_images": bool(state["cards"]),
        "poll_ms": POLL_MS,
        "channels": state["info"],
        "state": {**state, "selected": selected},
        "favicon": FAVICON,
    }
    return TEMPLATES.TemplateResponse(request, "observe.html", context)


def observe_page(request: Request) -> Response:
    return _page(request, path_param(request, "site"), None)


def observe_json(request: Request) -> Response:
    site = path_param(request, "site")
    return FiniteJSONResponse(site_state(context_of(request).db, _query(request, site)))


def image_at(db: SiteDB, site: str, base: str) -> dict[str, Any]:
    """The row of `base` at `site` (a data image, else an info image), or a 404 naming both."""
    row = db.image(base)
    if row is None or row["site"] != site:
        raise HTTPProblem(404, f"No image {base} at site {site}: pick one on /site/{site}/observe")
    return row


def image_page(request: Request) -> Response:
    """The permalink: the observe page opened on one image, with "follow newest" off."""
    site, base = path_param(request, "site"), path_param(request, "base_filename")
    db = context_of(request).db
    row = image_at(db, site, base)
    return _page(request, site, observe.single_card(row, db.object_keys(observe.keys_prefix(row))))


def image_json(request: Request) -> Response:
    """One image's card and its stored header, whichever directory it is in (the real
    `/fitsheader/{base}` answers only `data/`, so an info image's header comes from here)."""
    site, base = path_param(request, "site"), path_param(request, "base_filename")
    db = context_of(request).db
    row = image_at(db, site, base)
    header = json.loads(row["header"]) if row.get("header") else {}
    return FiniteJSONResponse({
        "card": observe.single_card(row, db.object_keys(observe.keys_prefix(row))),
        "header": header,
    })


def download_redirect(request: Request) -> Response:
    """A link-friendly `POST /download`: 307 to a presigned GET URL, or 404 if nothing is there."""
    directory = request.path_params["directory"]
    name = request.path_params["name"]
    refuse(validate.directory_problem(directory), 403)
    refuse(validate.object_name_problem(name))
    key = f"{directory}/{name}"
    ctx = context_of(request)
    try:
        ctx.s3.head_object(Bucket=ctx.bucket, Key=key)
    except ClientError as exc:
        if is_missing(exc):
            raise HTTPProblem(404, f"No file stored under {key}") from None
        raise
    return RedirectResponse(ctx.presign_get(key), status_code=307)
