"""The local Photon Ranch API: the real service's routes, answering the way it answers.

A client written for the real API must work here with only the base URL changed, so the
quirks are kept: the presign body is JSON sent without a JSON content type, real sites call
`//upload/`, refusals are 403 with a plain-text body. Presigned URLs are made by boto3 against
the local S3 server (weed), which then enforces them like S3 does. Rules: protocol §1 and §4.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .db import ObjectRecord, SiteDB
from .ingest import S3_DIRECTORIES

PRESIGN_EXPIRES_S = 300
"""The real presigned POST policy expires after 300 s."""
DEFAULT_GET_EXPIRES_S = 3600
DEFAULT_RECENT_LIMIT = 1000
MAX_LATEST = 1000
INFO_CHANNELS = (1, 2, 3)
DEFAULT_INFO_CHANNEL = 1
DEFAULT_S3_DIRECTORY = "data"
INFO_DIRECTORY = "info-images"
MAX_OBJECT_NAME = 1024
MS_PER_S = 1000

BAD_DIRECTORY = "s3_directory must be either 'data', 'info-images', or 'allsky'."
"""The real service's message, word for word (it accepts `test` too, but does not say so)."""
BAD_CHANNEL = "Value for info_channel must be either 1, 2, or 3. Received {value} instead."

PLAIN = "text/plain; charset=utf-8"


@dataclass
class ApiContext:
    """What the routes need: the database, boto3 against weed, and the S3 URL for /health."""

    db: SiteDB
    s3: Any
    bucket: str
    s3_url: str
    clock: Callable[[], float] = time.time


def _text(status: int, message: str) -> PlainTextResponse:
    return PlainTextResponse(message, status_code=status, media_type=PLAIN)


async def _json_body(request: Request) -> dict[str, Any] | PlainTextResponse:
    """The body as a JSON object, whatever the content type says (sites send none)."""
    raw = await request.body()
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _text(400, "the request body must be a JSON object, e.g. "
                          '{"object_name": "tst-inst-20261124-00000001-EX10.jpg"}')
    if not isinstance(body, dict):
        return _text(400, f"the request body must be a JSON object, not {type(body).__name__}")
    return body


def _object_name_problem(name: Any) -> str | None:
    if not isinstance(name, str) or not name:
        return f"object_name {name!r} is not allowed: give the bare file name as a string"
    if "/" in name or "\\" in name or name in (".", "..") or len(name) > MAX_OBJECT_NAME:
        return f"object_name {name!r} is not allowed: give a bare file name, without '/'"
    return None


async def _internal_error(request: Request, exc: Exception) -> Response:
    """What the real API Gateway answers when its handler fails."""
    return JSONResponse({"message": "Internal server error"}, status_code=502)


def make_app(ctx: ApiContext) -> Starlette:
    """One Starlette app; every route is in the flat list at the end."""

    async def upload(request: Request) -> Response:
        body = await _json_body(request)
        if isinstance(body, Response):
            return body
        name = body.get("object_name")
        problem = _object_name_problem(name)
        if problem:
            return _text(400, problem)
        directory = body.get("s3_directory", DEFAULT_S3_DIRECTORY)
        if directory not in S3_DIRECTORIES:
            return _text(403, BAD_DIRECTORY)
        if directory == INFO_DIRECTORY:
            channel = body.get("info_channel", DEFAULT_INFO_CHANNEL)
            if isinstance(channel, bool) or channel not in INFO_CHANNELS:
                return _text(403, BAD_CHANNEL.format(value=channel))
            site = name.split("-", 1)[0]
            base = name.split(".", 1)[0].rsplit("-", 1)[0]
            ctx.db.set_info_channel(site, int(channel), base, ctx.clock())
        presigned = ctx.s3.generate_presigned_post(
            ctx.bucket, f"{directory}/{name}", ExpiresIn=PRESIGN_EXPIRES_S
        )
        return JSONResponse(presigned)

    async def download(request: Request) -> Response:
        body = await _json_body(request)
        if isinstance(body, Response):
            return body
        name = body.get("object_name")
        problem = _object_name_problem(name)
        if problem:
            return _text(400, problem)
        directory = body.get("s3_directory", DEFAULT_S3_DIRECTORY)
        if directory not in S3_DIRECTORIES:
            return _text(403, BAD_DIRECTORY)
        return _text(200, _presign_get(f"{directory}/{name}"))

    def _presign_get(key: str) -> str:
        return ctx.s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": ctx.bucket, "Key": key},
            ExpiresIn=DEFAULT_GET_EXPIRES_S,
        )

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
            jpg_url=_presign_get(row["jpg_medium_key"]) if row["jpg_medium_key"] else None,
            jpg_thumbnail_url=_presign_get(row["jpg_small_key"]) if row["jpg_small_key"] else None,
        )
        return record

    async def latest_images(request: Request) -> Response:
        site = request.path_params["site"]
        try:
            count = int(request.path_params["count"])
        except ValueError:
            count = -1
        if not 0 < count <= MAX_LATEST:
            return _text(400, f"number of images {request.path_params['count']!r} is not "
                              f"allowed: use 1 to {MAX_LATEST}")
        return JSONResponse([_record(row) for row in ctx.db.latest_images(site, count)])

    async def image(request: Request) -> Response:
        base = request.path_params["base_filename"]
        row = ctx.db.image(base)
        if row is None:
            return _text(404, f"No image found with base_filename {base}")
        return JSONResponse(_record(row))

    async def fitsheader(request: Request) -> Response:
        base = request.path_params["base_filename"]
        row = ctx.db.image(base)
        if row is None or not row.get("header"):
            return _text(404, f"No header found for base_filename {base}")
        return JSONResponse(json.loads(row["header"]))

    async def infoimage(request: Request) -> Response:
        site = request.path_params["site"]
        try:
            channel = int(request.path_params["channel"])
        except ValueError:
            channel = -1
        if channel not in INFO_CHANNELS:
            return _text(403, BAD_CHANNEL.format(value=request.path_params["channel"]))
        base = ctx.db.info_channel(site, channel)
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
        records = ctx.db.recent_uploads(site, DEFAULT_RECENT_LIMIT)
        return JSONResponse([_upload_entry(r) for r in records])

    async def health(request: Request) -> Response:
        now = dt.datetime.fromtimestamp(ctx.clock(), dt.UTC).isoformat()
        return JSONResponse({"ok": True, "s3_url": ctx.s3_url, "bucket": ctx.bucket, "time": now})

    routes = [
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
        Route("/health", health, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={Exception: _internal_error})
    app.router.redirect_slashes = False
    return app
