"""The real service's routes, answering the way it answers, plus `/health` and `/openapi.json`.

A client written for the real API must work here with only the base URL changed, so the
quirks are kept: the presign body is JSON sent without a JSON content type, real sites call
`//upload/`, refusals are 403 with a plain-text body. Presigned URLs are made by boto3 against
the local S3 server (weed), which then enforces them like S3 does. Rules: protocol §1 and §4.

Unlike the real service, every input is checked first (`validate.py`) and refused with a plain
sentence (`HTTPProblem`); bodies over a limit get 413 (`limits.py`). The handlers that touch
SQLite or presign are plain functions, which Starlette runs in its thread pool, so a slow query
never holds up the event loop; only reading the body stays async.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from send_test_images.localsite import rules, validate
from send_test_images.localsite.db import ObjectRecord
from send_test_images.localsite.web import openapi
from send_test_images.localsite.web.context import ApiContext, context_of
from send_test_images.localsite.web.inputs import json_body, name_and_directory, path_param
from send_test_images.localsite.web.jsonbody import FiniteJSONResponse
from send_test_images.localsite.web.problems import HTTPProblem, refuse, text

DEFAULT_RECENT_LIMIT = 1000
MAX_LATEST = 1000
MS_PER_S = 1000


def _int_param(segment: str) -> int | None:
    """A path segment as a plain decimal number (no sign, no spaces, no `1_000`), else None."""
    return (
        int(segment)
        if segment.isascii() and segment.isdigit() and len(segment) <= len(str(MAX_LATEST))
        else None
    )



def _record(ctx: ApiContext, row: dict[str, Any]) -> dict[str, Any]:
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


def _upload_entry(record: ObjectRecord) -> dict[str, Any]:
    return {
        "site": record.site,
        "upload_timestamp_s": record.upload_timestamp_s,
        "expire_timestamp_s": record.expire_timestamp_s,
        "filename": record.key,
        "size_bytes": record.size_bytes,
    }


# --- the real service's routes -----------------------------------------------------------------


async def upload(request: Request) -> Response:
    """Presign a POST; an info image first takes its channel, as on the real service."""
    body, name, directory = await name_and_directory(request)
    channel = None
    if directory == rules.INFO_DIRECTORY:
        raw_channel = body.get("info_channel", rules.DEFAULT_INFO_CHANNEL)
        channel = validate.channel_value(raw_channel)
        if channel is None:
            raise HTTPProblem(403, validate.BAD_CHANNEL.format(value=validate.echo(raw_channel)))
    presigned = await run_in_threadpool(_presign_upload, context_of(request), name, directory, channel)
    return FiniteJSONResponse(presigned)


def _presign_upload(ctx: ApiContext, name: str, directory: str, channel: int | None) -> dict[str, Any]:
    if channel is not None:
        site, base = rules.info_image_place(name)
        ctx.db.set_info_channel(site, channel, base, ctx.clock())
    return ctx.presign_post(f"{directory}/{name}")


async def download(request: Request) -> Response:
    """A presigned GET URL as the plain-text body (the real service's answer)."""
    _, name, directory = await name_and_directory(request)
    url = await run_in_threadpool(context_of(request).presign_get, f"{directory}/{name}")
    return text(200, url)


def latest_images(request: Request) -> Response:
    site = path_param(request, "site")
    count = _int_param(request.path_params["count"])
    if count is None or not 0 < count <= MAX_LATEST:
        raise HTTPProblem(400, f"number of images {validate.echo(request.path_params['count'])} is "
                               f"not allowed: use 1 to {MAX_LATEST}")
    ctx = context_of(request)
    return FiniteJSONResponse([_record(ctx, row) for row in ctx.db.latest_images(site, count)])


def image(request: Request) -> Response:
    base = path_param(request, "base_filename")
    ctx = context_of(request)
    row = ctx.db.image(base)
    if row is None:
        raise HTTPProblem(404, f"No image found with base_filename {base}")
    return FiniteJSONResponse(_record(ctx, row))


def fitsheader(request: Request) -> Response:
    base = path_param(request, "base_filename")
    row = context_of(request).db.image(base)
    if row is None or not row.get("header"):
        raise HTTPProblem(404, f"No header found for base_filename {base}")
    return FiniteJSONResponse(json.loads(row["header"]))


def infoimage(request: Request) -> Response:
    """The record on a site's info channel; 204 (no body) while nothing is on it."""
    site = path_param(request, "site")
    raw = request.path_params["channel"]
    channel = _int_param(raw)
    if channel not in rules.INFO_CHANNELS:
        raise HTTPProblem(403, validate.BAD_CHANNEL.format(value=validate.echo(raw)))
    ctx = context_of(request)
    base = ctx.db.info_channel(site, channel)
    row = ctx.db.image(base, rules.INFO_DIRECTORY) if base else None
    if row is None:
        return Response(status_code=204)
    return FiniteJSONResponse(_record(ctx, row))


def recentuploads(request: Request) -> Response:
    """Every stored object, newest first; `?site=` (missing or empty: all sites) narrows it."""
    site = request.query_params.get("site") or None
    if site is not None:
        refuse(validate.path_param_problem("site", site))
    records = context_of(request).db.recent_uploads(site, DEFAULT_RECENT_LIMIT)
    return FiniteJSONResponse([_upload_entry(r) for r in records])


# --- the local site's own --------------------------------------------------------------------


def health(request: Request) -> Response:
    """Proof of life that also tells a reusing command where this site's S3 is.

    Alive means S3 answers too: without weed every upload and read fails, so a site whose weed
    died answers 503 with the one-line reason, and a command looking for a running site does
    not reuse it. The check is cached by the S3 server, and this handler runs in the thread
    pool, so a hung weed never holds up the event loop.
    """
    ctx = context_of(request)
    problem = ctx.s3_problem()
    if problem is not None:
        raise HTTPProblem(503, problem)
    now = dt.datetime.fromtimestamp(ctx.clock(), dt.UTC).isoformat()
    return FiniteJSONResponse({"ok": True, "s3_url": ctx.s3_url, "bucket": ctx.bucket, "time": now})


async def openapi_json(request: Request) -> Response:
    return FiniteJSONResponse(openapi.describe(context_of(request)))


# --- the local site's own services ----------------------------------------------------------------


async def reserve_numbers(request: Request) -> Response:
    """File numbers no other sender to this site gets (the real API has no such service).

    Two machines sending for one camera through one site both ask here, so they cannot start at
    the same number: the answer starts after whatever this site handed out, whatever it stores
    for the camera, and the caller's own counter (`after`). A client that finds no such route
    (the real API) falls back to its own counter and the highest number the server lists.
    """
    body = await json_body(request)
    site, inst, count, after = body.get("site"), body.get("inst"), body.get("count"), body.get("after", 0)
    refuse(validate.reservation_problem(site, inst, count, after))
    numbers = await run_in_threadpool(context_of(request).db.reserve_numbers, site, inst, count, after)
    if numbers is None:
        raise HTTPProblem(409, f"no room for {count} more file numbers for {site}-{inst}: use another instrument")
    return FiniteJSONResponse({"site": site, "inst": inst, "start": numbers.start, "stop": numbers.stop})
