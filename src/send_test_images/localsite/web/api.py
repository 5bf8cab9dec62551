"""The real service's routes, answering the way it answers, plus `/health` and `/openapi.json`.

A client written for the real API must work here with only the base URL changed, so the
quirks are kept: the presign body is JSON sent without a JSON content type, real sites call
`//upload/`, refusals are 403 with a plain-text body. Presigned POSTs are boto3's, field for
field (botocore's presigner, `s3direct.py`), against the local S3 server (weed), which then
enforces them like S3 does. Rules: protocol §1 and §4.

Unlike the real service, every input is checked first (`validate.py`) and refused with a plain
sentence (`HTTPProblem`); bodies over a limit get 413 (`limits.py`). The handlers that touch
SQLite or S3 are plain functions, which Starlette runs in its thread pool, so a slow query
never holds up the event loop; only reading the body and a presign alone (~0.1 ms) stay on it.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import zipfile
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from send_test_images.errors import LocalSiteError
from send_test_images.localsite import conversions, package, rules, validate
from send_test_images.localsite.headertext import to_float
from send_test_images.localsite.web import openapi
from send_test_images.localsite.web.context import ApiContext, context_of
from send_test_images.localsite.web.inputs import json_body, name_and_directory, path_param
from send_test_images.localsite.web.jsonbody import FiniteJSONResponse
from send_test_images.localsite.web.problems import (
    HTTPProblem,
    internal_error,
    internal_error_response,
    refuse,
    text,
)

log = logging.getLogger(__name__)

DEFAULT_RECENT_LIMIT = 1000
MAX_FILTERED = 5000
"""Rows one filtered query reads; the real query has no limit, a night at a busy site is ~2000."""
FITS_TYPES = ("fits", "fits.fz", "fz")
TIFF_TYPES = ("tif", "tiff")
FITS_SIZES = ("small", "large", "best")
DOWNLOADS_FITS = "downloads/fits"
DOWNLOADS_TIF = "downloads/tif"
FITS_CONTENT_TYPE = "application/fits"
BZ2_CONTENT_TYPE = "application/x-bzip2"
DOWNLOADS_ZIP = "downloads/zip"
UNPACK_ERRORS = (LocalSiteError, OSError, IndexError, KeyError, TypeError, ValueError)
"""What converting a missing or non-FITS object raises (S3's 404, astropy's read errors, a header
without FILTER for a TIFF)."""
NO_SITE = "Please be sure to include the sitecode query parameter."
"""`get_recent_uploads`'s 404 text (LCOGT/photonranch-api `api/handler.py`)."""
ALL_SITES = "all"
MAX_LATEST = 1000
MS_PER_S = 1000


def _int_param(segment: str) -> int | None:
    """A path segment as a plain decimal number (no sign, no spaces, no `1_000`), else None."""
    return (
        int(segment)
        if segment.isascii() and segment.isdigit() and len(segment) <= len(str(MAX_LATEST))
        else None
    )



def _package(ctx: ApiContext, row: dict[str, Any]) -> dict[str, Any]:
    """The one image shape every image route answers (`package.image_package`)."""
    return package.image_package(row, ctx.presign_get)


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
    ctx = context_of(request)
    if channel is None:  # a presign alone (~0.1 ms of CPU, no database) costs less here than a hop to a thread
        return FiniteJSONResponse(ctx.presign_post(f"{directory}/{name}"))
    presigned = await run_in_threadpool(_presign_info_upload, ctx, name, directory, channel)
    return FiniteJSONResponse(presigned)


def _presign_info_upload(ctx: ApiContext, name: str, directory: str, channel: int) -> dict[str, Any]:
    """An info image's presign also records its channel (a database write: off the event loop)."""
    site, base = rules.info_image_place(name)
    ctx.db.set_info_channel(site, channel, base, ctx.clock())
    return ctx.presign_post(f"{directory}/{name}")


async def download(request: Request) -> Response:
    """A presigned GET URL as the plain-text body, made as the real `download` makes it.

    `image_type` `fits` (the default), `fits.fz` or `fz`: the object is unpacked into a plain
    FITS stored at `downloads/fits/{name without .fz}` (`save_fz_to_fits`); `tif`/`tiff`: the
    `.fits.fz` (a `.bz2` in the name is read as `.fz`) becomes a bz2-compressed TIFF at
    `downloads/tif/{FILTER}-{stretch}-{name before the first dot}.tif.bz2` (`save_tiff_to_s3`,
    `stretch` default `arcsinh`); both in LCOGT/photonranch-api `api/s3_helpers.py`. A missing
    object, or one these cannot read, fails there, which API Gateway answers 502, and so do we.
    Any other `image_type`: a URL to the object as stored, unchecked.
    """
    body, name, directory = await name_and_directory(request)
    image_type = body.get("image_type", "fits")
    ctx = context_of(request)
    key = f"{directory}/{name}"
    try:
        if image_type in TIFF_TYPES:
            key = await run_in_threadpool(_tiff, ctx, key, body.get("stretch", conversions.ARCSINH))
        elif image_type in FITS_TYPES:
            key = await run_in_threadpool(_unpacked_fits, ctx, key)
    except UNPACK_ERRORS as exc:
        log.warning("download of %s failed as it does on the real service: %r", key, exc)
        return await internal_error(request, exc)
    return text(200, await run_in_threadpool(ctx.presign_get, key))


def _unpacked_fits(ctx: ApiContext, key: str) -> str:
    target = f"{DOWNLOADS_FITS}/{key.split('/')[-1].replace('.fits.fz', '.fits')}"
    ctx.direct.put(target, conversions.fits_from_fz(_read(ctx, key)), FITS_CONTENT_TYPE)
    return target


def _tiff(ctx: ApiContext, key: str, stretch: Any) -> str:
    stretch_text = str(stretch)
    refuse(validate.path_param_problem("stretch", stretch_text))
    filter_name, data = conversions.tiff_from_fz(_read(ctx, key.replace(".bz2", ".fz")), stretch_text)
    refuse(validate.path_param_problem("FILTER", filter_name))  # it becomes part of a key
    target = f"{DOWNLOADS_TIF}/{filter_name}-{stretch_text}-{key.split('/')[-1].split('.')[0]}.tif.bz2"
    ctx.direct.put(target, data, BZ2_CONTENT_TYPE)
    return target


def _read(ctx: ApiContext, key: str) -> bytes:
    """The whole object (the real Lambda downloads it whole too); a missing one raises."""
    return ctx.direct.get(key)


async def downloadzip(request: Request) -> Response:
    """`download_zip`: a zip of a site's FITS files in a time range, as `{"message": url}`.

    The real service hands the names to another function (photonranch-downloads) that zips
    them; here the zip is made in place and stored under `downloads/zip/`. No file: 404 with the
    real text. A missing or non-numeric timestamp, or a `fits_size` other than small, large or
    best, fails on the real service (502); here it is a 400 naming the field.
    """
    body = await json_body(request)
    try:
        start, end = int(body.get("start_timestamp_s")), int(body.get("end_timestamp_s"))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise HTTPProblem(400, "start_timestamp_s and end_timestamp_s must be whole seconds since 1970") from None
    fits_size = body.get("fits_size")
    if not isinstance(fits_size, str) or fits_size.lower() not in FITS_SIZES:
        raise HTTPProblem(400, 'fits_size must be either "small", "large", or "best".')
    site = body.get("site")
    refuse(validate.path_param_problem("site", site) if isinstance(site, str) else "site must be a site code")
    ctx = context_of(request)
    answer = await run_in_threadpool(_zip, ctx, site, start, end, fits_size.lower())
    if answer is None:
        raise HTTPProblem(404, "No images exist for the given query.")
    return FiniteJSONResponse({"message": answer})


def _zip(ctx: ApiContext, site: str, start: int, end: int, fits_size: str) -> str | None:
    names = ctx.db.fits_names_between(site, start, end, fits_size)
    if not names:
        return None
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name in names:
            try:
                archive.writestr(name, ctx.direct.get(f"data/{name}"))
            except Exception as exc:  # a name the row promises but S3 lacks: the zip goes without it
                log.warning("zip without %s: %s", name, exc)
    key = f"{DOWNLOADS_ZIP}/{site}-{start}-{end}-{fits_size}.zip"
    ctx.s3.put_object(Bucket=ctx.bucket, Key=key, Body=out.getvalue())
    return ctx.presign_get(key)


def filtered_images(request: Request) -> Response:
    """`filtered_images_query_handler`: images with a medium JPG matching every given filter,
    newest first, intermediate smartstack frames folded away (`package.fold_final_smartstacks`).

    Parameters the real service reads (others are ignored): `username`, `user_id`, `site`,
    `filter` (equal), `exposure_time_min`/`_max` (inclusive), `start_date`/`end_date` (UTC, the UI
    sends `YYYY-MM-DD HH:MM:SS`; inclusive), `filename` (SQL LIKE on the base filename,
    case-sensitive as in PostgreSQL). Without any query string the real handler fails (it reads
    `in` of None: 502), and so does ours; a value it cannot compare is a 400 naming the parameter
    here, where PostgreSQL's error would surface as another 502 there.
    """
    params = request.query_params
    if not params:
        return internal_error_response()
    for name in ("username", "user_id", "site", "filter", "filename"):
        if "\x00" in params.get(name, ""):  # PostgreSQL text cannot hold NUL: the real query fails
            raise HTTPProblem(400, f"{name} {params[name]!r} is not allowed: use text without NUL characters")
    where: list[tuple[str, Any]] = []
    for name, column in (("username", "username"), ("user_id", "user_id"), ("site", "site"),
                         ("filter", "filter_used")):
        if name in params:
            where.append((f"{column} = ?", params[name]))
    for name, condition in (("exposure_time_min", "exposure_time >= ?"), ("exposure_time_max", "exposure_time <= ?")):
        if name in params:
            where.append((condition, _number_param(name, params[name])))
    for name, condition in (("start_date", "capture_date >= ?"), ("end_date", "capture_date <= ?")):
        if name in params:
            where.append((condition, _date_param(name, params[name])))
    ctx = context_of(request)
    rows = ctx.db.filtered_images(where, MAX_FILTERED, name_like=params.get("filename"))
    packages = [_package(ctx, row) for row in rows]
    try:
        folded = package.fold_final_smartstacks(packages)
    except ValueError as exc:  # a digit stack id without a numeric SSTKNUM: the real one fails too
        return internal_error_response(exc)
    return FiniteJSONResponse(folded)


def _number_param(name: str, value: str) -> float:
    number = to_float(value)
    if number is None:
        raise HTTPProblem(400, f"{name} {validate.echo(value)} is not a number")
    return number


def _date_param(name: str, value: str) -> float:
    when = rules.parse_query_date(value)
    if when is None:
        raise HTTPProblem(400, f"{name} {validate.echo(value)} is not a date: use YYYY-MM-DD HH:MM:SS (UTC)")
    return when


def latest_images(request: Request) -> Response:
    site = path_param(request, "site")
    count = _int_param(request.path_params["count"])
    if count is None or not 0 < count <= MAX_LATEST:
        raise HTTPProblem(400, f"number of images {validate.echo(request.path_params['count'])} is "
                               f"not allowed: use 1 to {MAX_LATEST}")
    ctx = context_of(request)
    rows = ctx.db.latest_images(site, count)
    user_id = request.query_params.get("userid")
    if user_id:  # `get_latest_site_images_handler`: `?userid=` narrows before the limit
        rows = [r for r in ctx.db.latest_images(site, MAX_LATEST) if r.get("user_id") == user_id][:count]
    return FiniteJSONResponse([_package(ctx, row) for row in rows])


def image(request: Request) -> Response:
    """`get_image_by_filename_handler`: only an image with its medium JPG, else 404 text."""
    base = path_param(request, "base_filename")
    ctx = context_of(request)
    row = ctx.db.image(base, rules.DEFAULT_S3_DIRECTORY)
    if row is None or not row["jpg_medium_exists"]:
        raise HTTPProblem(404, f"No results found for {base}")
    return FiniteJSONResponse(_package(ctx, row))


def fitsheader(request: Request) -> Response:
    """`get_fits_header_from_db_handler`: the stored header, `{}` for a row without one yet."""
    base = path_param(request, "base_filename")
    row = context_of(request).db.image(base, rules.DEFAULT_S3_DIRECTORY)
    if row is None:
        raise HTTPProblem(404, f"No fits header found in the db for {base}")
    return FiniteJSONResponse(package.header_of(row) or {})


def infoimage(request: Request) -> Response:
    """`get_info_image_package`: the image on a site's channel, else 204 with the real text.

    The real handler looks up the item `{site}#{channel}` with the channel as the path's text, so
    any channel without an image (`4`, `x`) is 204 and `channel` comes back as that text.
    """
    site = path_param(request, "site")
    channel_text = path_param(request, "channel")
    channel = _int_param(channel_text)
    ctx = context_of(request)
    base = ctx.db.info_channel(site, channel) if channel in rules.INFO_CHANNELS and str(channel) == channel_text \
        else None
    row = ctx.db.image(base, rules.INFO_DIRECTORY) if base else None
    stored = ctx.db.stored_files(f"{rules.INFO_DIRECTORY}/{base}-") if row else []
    if row is None or not stored:
        return text(204, f"No info image for site {site}.")
    return FiniteJSONResponse(package.info_image_package(site, channel_text, row, stored, ctx.presign_get))


def recentuploads(request: Request) -> Response:
    """`get_recent_uploads`: the upload log of `data/`, for `?site=` (`all`: every site).

    Without `site` the real service answers 404 with a sentence; entries expire 48 h after their
    upload (the log table's TTL).
    """
    site = request.query_params.get("site")
    if site is None:
        raise HTTPProblem(404, NO_SITE)
    if site:  # `?site=` names no site: the real query finds nothing, so do we
        refuse(validate.path_param_problem("site", site))
    ctx = context_of(request)
    since = ctx.clock() - package.UPLOADS_LOG_TTL_S
    records = ctx.db.recent_uploads(None if site == ALL_SITES else site, DEFAULT_RECENT_LIMIT, since)
    return FiniteJSONResponse([
        package.upload_log_entry(r.key, r.site or "", r.upload_timestamp_s, r.size_bytes) for r in records
    ])


# --- the local site's own --------------------------------------------------------------------


def health(request: Request) -> Response:
    """Proof of life that also tells a reusing command where this site's S3 is.

    Alive means S3 (and an external database) answer too: without weed every upload and read
    fails, so a site whose weed died answers 503 with the one-line reason, and a command looking
    for a running site does not reuse it. The check is cached by the S3 server, and this handler runs in the thread
    pool, so a hung weed never holds up the event loop.
    """
    ctx = context_of(request)
    problem = ctx.s3_problem() or ctx.db.problem()
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
