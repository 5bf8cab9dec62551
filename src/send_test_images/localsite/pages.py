"""The observe page and its JSON: what a person looks at after `send-test-images up`.

The HTML is a shell rendered from the package's templates (autoescaped); the page's own script
polls `/site/{site}/observe.json` every second and draws the strip and the detail, so an upload
shows up without a reload and no build step or CDN is involved. Files are linked through
`/download/{directory}/{name}`, which redirects to a fresh presigned URL, so links never go stale.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from botocore.exceptions import ClientError
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from send_test_images.localsite import observe, validate
from send_test_images.localsite.context import ApiContext

PACKAGE_DIR = Path(__file__).parent
TEMPLATE_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"

DEFAULT_SITE = "tst"
"""Where `/` goes while no site has data yet: the site `up` sends to by default."""
DEFAULT_STRIP_LENGTH = 48
ROWS_PER_CARD = 8
"""Rows read per card shown, so a strip of smartstacks still fills up after folding."""
POLL_MS = 1000
"""The page asks for news this often: an upload appears within ~1 s of being ingested."""
DATA_DIRECTORY = "data"
MISSING_CODES = ("404", "NoSuchKey", "NotFound")
PLAIN = "text/plain; charset=utf-8"


def _text(status: int, message: str) -> PlainTextResponse:
    return PlainTextResponse(message, status_code=status, media_type=PLAIN)


class Pages:
    """The page routes; `api.make_app` lists them with all the others."""

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True, undefined=jinja2.StrictUndefined
        )
        self.templates = Jinja2Templates(env=env)

    async def root(self, request: Request) -> Response:
        sites = self.ctx.db.sites_with_data()
        return RedirectResponse(f"/site/{sites[0] if sites else DEFAULT_SITE}/observe", status_code=307)

    async def observe(self, request: Request) -> Response:
        site = request.path_params["site"]
        problem = validate.path_param_problem("site", site)
        if problem:
            return _text(400, problem)
        sites = self.ctx.db.sites_with_data()
        context = {
            "site": site,
            "sites": sites if site in sites else [*sites, site],
            "poll_ms": POLL_MS,
            "channels": [observe.info_card(c, None) for c in validate.INFO_CHANNELS],
        }
        return self.templates.TemplateResponse(request, "observe.html", context)

    async def observe_json(self, request: Request) -> Response:
        site = request.path_params["site"]
        problem = validate.path_param_problem("site", site)
        if problem:
            return _text(400, problem)
        db = self.ctx.db
        rows = db.latest_images(site, DEFAULT_STRIP_LENGTH * ROWS_PER_CARD)
        info = [
            observe.info_card(c, db.image(base, "info-images") if (base := db.info_channel(site, c)) else None)
            for c in validate.INFO_CHANNELS
        ]
        return JSONResponse({
            "site": site,
            "sites": db.sites_with_data(),
            "cards": observe.strip(rows, db.object_keys, DEFAULT_STRIP_LENGTH),
            "info": info,
        })

    async def download_redirect(self, request: Request) -> Response:
        """A link-friendly `POST /download`: 307 to a presigned GET URL, or 404 if nothing is there."""
        directory = request.path_params["directory"]
        name = request.path_params["name"]
        problem = validate.directory_problem(directory)
        if problem:
            return _text(403, problem)
        problem = validate.object_name_problem(name)
        if problem:
            return _text(400, problem)
        key = f"{directory}/{name}"
        try:
            self.ctx.s3.head_object(Bucket=self.ctx.bucket, Key=key)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in MISSING_CODES:
                return _text(404, f"No file stored under {key}")
            raise
        return RedirectResponse(self.ctx.presign_get(key), status_code=307)
