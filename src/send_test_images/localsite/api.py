"""The local Photon Ranch API: the real service's routes, answering the way it answers.

A client written for the real API must work here with only the base URL changed, so the
quirks are kept: the presign body is JSON sent without a JSON content type, real sites call
`//upload/`, refusals are 403 with a plain-text body. Presigned URLs are made by boto3 against
the local S3 server (weed), which then enforces them like S3 does. Rules: protocol §1 and §4.

Unlike the real service, every input is checked first (`validate.py`) and answered 4xx with a
plain sentence; bodies over a limit get 413 (`limits.py`); the API is described at
`/openapi.json` (`openapi.py`) and fuzzed against that description in the tests.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from send_test_images.localsite import openapi, validate
from send_test_images.localsite.context import ApiContext
from send_test_images.localsite.db import ObjectRecord
from send_test_images.localsite.limits import BodyLimit
from send_test_images.localsite.pages import STATIC_DIR, Pages

DEFAULT_RECENT_LIMIT = 1000
MAX_LATEST = 1000
DEFAULT_INFO_CHANNEL = 1
DEFAULT_S3_DIRECTORY = "data"
INFO_DIRECTORY = "info-images"
MS_PER_S = 1000

PLAIN = "text/plain; charset=utf-8"
NOT_JSON = (
    "the request body must be a JSON object, e.g. "
    '{"object_name": "tst-inst-20261124-00000001-EX10.jpg"}'
)

__all__ = ["ApiContext", "make_app"]


def _text(status: int, message: str) -> PlainTextResponse:
    return PlainTextResponse(message, status_code=status, media_type=PLAIN)


async def _json_body(request: Request) -> dict[str, Any] | PlainTextResponse:
    """The body as a JSON object, whatever the content type says (sites send none)."""
    raw = await request.body()
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _text(400, NOT_JSON)
    if not isinstance(body, dict):
        return _text(400, f"the request body must be a JSON object, not {type(body).__name__}")
    return body


async def _name_and_directory(request: Request) -> tuple[dict[str, Any], str, str] | Response:
    """The checks /upload and /download share: a JSON object, a safe name, a known directory."""
    body = await _json_body(request)
    if isinstance(body, Response):
        return body
    name = body.get("object_name")
    problem = validate.object_name_problem(name)
    if problem:
        return _text(400, problem)
    directory = body.get("s3_directory", DEFAULT_S3_DIRECTORY)
    problem = validate.directory_problem(directory)
    if problem:
        return _text(403, problem)
    return body, name, directory


def _int_param(text: str) -> int | None:
    """A path segment as a plain decimal number (no sign, no spaces, no `1_000`), else None."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= len(str(MAX_LATEST)) else None


async def _internal_error(request: Request, exc: Exception) -> Response:
    """What the real API Gateway answers when its handler fails (the fuzz tests keep it unused)."""
    return JSONResponse({"message": "Internal server error"}, status_code=502)


def make_app(ctx: ApiContext) -> Starlette:
    """One Starlette app; every route is in the flat list at the end."""
    pages = Pages(ctx)

    async def upload(request: Request) -> Response:
        checked = await _name_and_directory(request)
        if isinstance(checked, Response):
            return checked
        body, name, directory = checked
        if directory == INFO_DIRECTORY:
            raw_channel = body.get("info_channel", DEFAULT_INFO_CHANNEL)
            channel = validate.channel_value(raw_channel)
            if channel is None:
                return _text(403, validate.BAD_CHANNEL.format(value=validate.echo(raw_channel)))
            site = name.split("-", 1)[0]
            base = name.split(".", 1)[0].rsplit("-", 1)[0]
            ctx.db.set_info_channel(site, channel, base, ctx.clock())
        return JSONResponse(ctx.presign_post(f"{directory}/{name}"))

    async def download(request: Request) -> Response:
        checked = await _name_and_directory(request)
        if isinstance(checked, Response):
            return checked
        _, name, directory = checked
        return _text(200, ctx.presign_get(f"{directory}/{name}"))

    def _record(row: dict[str, Any]) -> dict[str, Any]:
        """A row as the real API shows it: ms timestamps, presigned JPG URLs, smartstack keys."""
        header = json.loads(row["header"]) if row.get("header") else {}
        capture_ms = int(row["capture_date"] * MS_PER_S) if row["capture_date"] else None
        record = {k: v for k, v in row.items() if k not in ("header", "jpg_medium_key",
                                                             "jpg_small_key", "capture_date")}
        for flag in ("fits_01_exists", "fits_10_exists", "jpg_medium_exists", "jpg_small_exists"):
            record[flag] = bool(row[flag])
        record.update(
            capture_date=capture_ms,
            sort_date=capture_ms,
            SMARTSTK=header.get("SMARTSTK"),
            SSTKNUM=header.get("SSTKNUM"),
            jpg_url=ctx.presign_get(row["jpg_medium_key"]) if row["jpg_medium_key"] else None,
            jpg_thumbnail_url=ctx.presign_get(row["jpg_small_key"]) if row["jpg_small_key"] else None,
        )
        return record

    def _path_problem(request: Request, *names: str) -> Response | None:
        for name in names:
            problem = validate.path_param_problem(name, request.path_params[name])
            if problem:
                return _text(400, problem)
        return None

    async def latest_images(request: Request) -> Response:
        if refused := _path_problem(request, "site"):
            return refused
        count = _int_param(request.path_params["count"])
        if count is None or not 0 < count <= MAX_LATEST:
            return _text(400, f"number of images {validate.echo(request.path_params['count'])} is "
                              f"not allowed: use 1 to {MAX_LATEST}")
        rows = ctx.db.latest_images(request.path_params["site"], count)
        return JSONResponse([_record(row) for row in rows])

    async def image(request: Request) -> Response:
        if refused := _path_problem(request, "base_filename"):
            return refused
        base = request.path_params["base_filename"]
        row = ctx.db.image(base)
        if row is None:
            return _text(404, f"No image found with base_filename {base}")
        return JSONResponse(_record(row))

    async def fitsheader(request: Request) -> Response:
        if refused := _path_problem(request, "base_filename"):
            return refused
        base = request.path_params["base_filename"]
        row = ctx.db.image(base)
        if row is None or not row.get("header"):
            return _text(404, f"No header found for base_filename {base}")
        return JSONResponse(json.loads(row["header"]))

    async def infoimage(request: Request) -> Response:
        if refused := _path_problem(request, "site"):
            return refused
        raw = request.path_params["channel"]
        channel = _int_param(raw)
        if channel not in validate.INFO_CHANNELS:
            return _text(403, validate.BAD_CHANNEL.format(value=validate.echo(raw)))
        base = ctx.db.info_channel(request.path_params["site"], channel)
        row = ctx.db.image(base, INFO_DIRECTORY) if base else None
        if row is None:
            return Response(status_code=204)
        return JSONResponse(_record(row))

    def _upload_entry(record: ObjectRecord) -> dict[str, Any]:
        return {
            "site": record.site,
            "upload_timestamp_s": record.upload_timestamp_s,
            "expire_timestamp_s": record.expire_timestamp_s,
            "filename": record.key,
            "size_bytes": record.size_bytes,
        }

    async def recentuploads(request: Request) -> Response:
        site = request.query_params.get("site") or None
        if site is not None and (problem := validate.path_param_problem("site", site)):
            return _text(400, problem)
        records = ctx.db.recent_uploads(site, DEFAULT_RECENT_LIMIT)
        return JSONResponse([_upload_entry(r) for r in records])

    async def health(request: Request) -> Response:
        now = dt.datetime.fromtimestamp(ctx.clock(), dt.UTC).isoformat()
        return JSONResponse({"ok": True, "s3_url": ctx.s3_url, "bucket": ctx.bucket, "time": now})

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(openapi.describe(ctx))

    routes = [
        # the real service's routes
        Route("/upload", upload, methods=["POST"]),
        Route("/upload/", upload, methods=["POST"]),
        Route("//upload/", upload, methods=["POST"]),
        Route("/download", download, methods=["POST"]),
        Route("/download/", download, methods=["POST"]),
        Route("/{site}/latest_images/{count}", latest_images, methods=["GET"]),
        Route("/image/{base_filename}", image, methods=["GET"]),
        Route("/fitsheader/{base_filename}", fitsheader, methods=["GET"]),
        Route("/infoimage/{site}/{channel}", infoimage, methods=["GET"]),
        Route("/recentuploads", recentuploads, methods=["GET"]),
        # the local site's own
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/download/{directory}/{name}", pages.download_redirect, methods=["GET"]),
        Route("/", pages.root, methods=["GET"]),
        Route("/site/{site}/observe", pages.observe, methods=["GET"]),
        Route("/site/{site}/observe.json", pages.observe_json, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(BodyLimit, max_bytes=ctx.max_body_bytes)],
        exception_handlers={Exception: _internal_error},
    )
    app.router.redirect_slashes = False
    return app
