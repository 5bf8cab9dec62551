"""The observe page and its JSON: what a person looks at after `send-test-images up`.

The HTML is a shell rendered from the package's templates (autoescaped); the page's own script
polls `/site/{site}/observe.json` every second and draws the strip and the detail, so an upload
shows up without a reload and no build step or CDN is involved. Files are linked through
`/download/{directory}/{name}`, which redirects to a fresh presigned URL, so links never go stale.
Every handler here reads SQLite or S3, so all are plain functions run in Starlette's thread pool.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from botocore.exceptions import ClientError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from send_test_images.localsite import observe, rules, validate
from send_test_images.localsite.s3server import is_missing
from send_test_images.localsite.web.context import context_of
from send_test_images.localsite.web.inputs import path_param
from send_test_images.localsite.web.jsonbody import FiniteJSONResponse
from send_test_images.localsite.web.problems import HTTPProblem, refuse

WEB_DIR = Path(__file__).parent
TEMPLATE_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

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


def observe_page(request: Request) -> Response:
    site = path_param(request, "site")
    sites = context_of(request).db.sites_with_data()
    context = {
        "site": site,
        "sites": sites if site in sites else [*sites, site],
        "poll_ms": POLL_MS,
        "channels": [observe.info_card(c, None) for c in rules.INFO_CHANNELS],
    }
    return TEMPLATES.TemplateResponse(request, "observe.html", context)


def observe_json(request: Request) -> Response:
    site = path_param(request, "site")
    db = context_of(request).db
    rows = db.latest_images(site, DEFAULT_STRIP_LENGTH * ROWS_PER_CARD)
    info = [
        observe.info_card(c, db.image(base, rules.INFO_DIRECTORY) if (base := db.info_channel(site, c)) else None)
        for c in rules.INFO_CHANNELS
    ]
    return FiniteJSONResponse({
        "site": site,
        "sites": db.sites_with_data(),
        "cards": observe.strip(rows, db.object_keys, DEFAULT_STRIP_LENGTH),
        "info": info,
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
