"""The local API described as OpenAPI 3.0, served at `/openapi.json` and fuzzed by the tests.

Written by hand next to the routes (the table in `app.py`) rather than generated, so it also
says what the real service does not: the size limits, the name rules and which 4xx each refusal
is. Limits come from the running site, so the description never drifts from what is enforced.
"""

from __future__ import annotations

from typing import Any

from send_test_images.exposure import naming
from send_test_images.localsite import rules, validate
from send_test_images.localsite.web.context import PRESIGN_EXPIRES_S, ApiContext

OPENAPI_VERSION = "3.0.3"
TEXT = "text/plain"
JSON = "application/json"
NAME_PATTERN = r"^[A-Za-z0-9_+-][A-Za-z0-9._+-]*$"
PARAM_PATTERN = r"^[A-Za-z0-9._+-]+$"
QUERY_PATTERN = r"^[A-Za-z0-9._+-]*$"


def _plain(description: str) -> dict[str, Any]:
    return {"description": description, "content": {TEXT: {"schema": {"type": "string"}}}}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _path(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or {"type": "string", "pattern": PARAM_PATTERN, "maxLength": validate.MAX_PATH_PARAM},
    }


NULLABLE_NUMBER = {"type": "number", "nullable": True}
NULLABLE_STRING = {"type": "string", "nullable": True}
IMAGE_RECORD = {
    "type": "object",
    "required": ["image_id", "base_filename", "site", "s3_directory", "jpg_medium_exists"],
    "properties": {
        "image_id": {"type": "integer"},
        "base_filename": {"type": "string"},
        "site": {"type": "string"},
        "s3_directory": {"type": "string"},
        "data_type": NULLABLE_STRING,
        "capture_date": {"type": "integer", "nullable": True},
        "sort_date": {"type": "integer", "nullable": True},
        "exposure_time": NULLABLE_NUMBER,
        "filter_used": NULLABLE_STRING,
        "right_ascension": NULLABLE_NUMBER,
        "declination": NULLABLE_NUMBER,
        "azimuth": NULLABLE_NUMBER,
        "altitude": NULLABLE_NUMBER,
        "airmass": NULLABLE_NUMBER,
        "username": NULLABLE_STRING,
        "user_id": NULLABLE_STRING,
        "fits_01_exists": {"type": "boolean"},
        "fits_10_exists": {"type": "boolean"},
        "jpg_medium_exists": {"type": "boolean"},
        "jpg_small_exists": {"type": "boolean"},
        "SMARTSTK": NULLABLE_STRING,
        "SSTKNUM": NULLABLE_STRING,
        "jpg_url": NULLABLE_STRING,
        "jpg_thumbnail_url": NULLABLE_STRING,
    },
}
SITE = _path("site", "site code, e.g. tst")
BASE = _path("base_filename", "{site}-{inst}-{YYYYMMDD}-{NNNNNNNN}")
BAD_INPUT = _plain("a malformed value: the text says which and what is allowed")
REFUSED = _plain("an unknown s3_directory or info_channel, with the real service's text")
HTML = {"description": "the page", "content": {"text/html": {"schema": {"type": "string"}}}}


def _name_body(ctx: ApiContext) -> dict[str, Any]:
    """The JSON body of /upload and /download; sites send it with any content type or none."""
    schema = {
        "type": "object",
        "required": ["object_name"],
        "properties": {
            "object_name": {
                "type": "string",
                "minLength": 1,
                "maxLength": validate.MAX_OBJECT_NAME,
                "pattern": NAME_PATTERN,
                "description": "a bare file name: no '/', no '..', ASCII only",
            },
            "s3_directory": {
                "type": "string", "enum": list(rules.S3_DIRECTORIES), "default": rules.DEFAULT_S3_DIRECTORY
            },
            "info_channel": {
                "description": "1, 2 or 3; checked only with s3_directory info-images (403 otherwise)"
            },
            "metadata": {"description": "ignored, as on the real service"},
        },
    }
    return {
        "required": True,
        "description": f"JSON, at most {ctx.max_body_bytes} bytes (413 above)",
        "content": {JSON: {"schema": schema}},
    }


def describe(ctx: ApiContext) -> dict[str, Any]:
    """The OpenAPI document for the site `ctx` belongs to."""
    too_large = _plain(f"the body is over {ctx.max_body_bytes} bytes")
    presigned = {
        "type": "object",
        "required": ["url", "fields"],
        "properties": {"url": {"type": "string"}, "fields": {"type": "object"}},
    }
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Local Photon Ranch",
            "version": "1",
            "description": (
                "The Photon Ranch upload and read API, served locally. Presigned POSTs expire after "
                f"{PRESIGN_EXPIRES_S} s and allow at most {ctx.max_upload_bytes} bytes per file "
                "(content-length-range; the real service has no size limit). /upload is also "
                "answered at /upload/ and //upload/, /download at /download/."
            ),
        },
        "paths": {
            "/upload": {"post": {
                "summary": "presign a POST of one file to S3",
                "requestBody": _name_body(ctx),
                "responses": {"200": _json("boto3's generate_presigned_post dict", presigned),
                              "400": BAD_INPUT, "403": REFUSED, "413": too_large},
            }},
            "/download": {"post": {
                "summary": "a presigned GET URL for one stored file",
                "requestBody": _name_body(ctx),
                "responses": {"200": _plain("the URL"), "400": BAD_INPUT, "403": REFUSED,
                              "413": too_large},
            }},
            "/{site}/latest_images/{count}": {"get": {
                "summary": "the newest images with a medium JPG, newest DATE-OBS first",
                "parameters": [SITE, _path("count", "how many, 1 to 1000",
                                           {"type": "integer", "minimum": 1, "maximum": 1000})],
                "responses": {"200": _json("image records", {"type": "array", "items": IMAGE_RECORD}),
                              "400": BAD_INPUT},
            }},
            "/image/{base_filename}": {"get": {
                "parameters": [BASE],
                "responses": {"200": _json("one image record", IMAGE_RECORD), "400": BAD_INPUT,
                              "404": _plain("no such image")},
            }},
            "/fitsheader/{base_filename}": {"get": {
                "parameters": [BASE],
                "responses": {
                    "200": _json("the header, every value a string",
                                 {"type": "object", "additionalProperties": {"type": "string"}}),
                    "400": BAD_INPUT, "404": _plain("no such image or no header"),
                },
            }},
            "/infoimage/{site}/{channel}": {"get": {
                "parameters": [SITE, _path("channel", "1, 2 or 3", {"type": "integer", "enum": [1, 2, 3]})],
                "responses": {"200": _json("the info image on that channel", IMAGE_RECORD),
                              "204": {"description": "nothing on that channel yet"},
                              "400": BAD_INPUT, "403": REFUSED},
            }},
            "/recentuploads": {"get": {
                "parameters": [{"name": "site", "in": "query", "required": False,
                                "description": "a site code; missing or empty: every site",
                                "schema": {"type": "string", "pattern": QUERY_PATTERN,
                                           "maxLength": validate.MAX_PATH_PARAM}}],
                "responses": {"200": _json("stored objects, newest first", {"type": "array", "items": {
                    "type": "object",
                    "required": ["filename", "size_bytes", "upload_timestamp_s"],
                    "properties": {"site": NULLABLE_STRING, "filename": {"type": "string"},
                                   "size_bytes": {"type": "integer"},
                                   "upload_timestamp_s": {"type": "number"},
                                   "expire_timestamp_s": NULLABLE_NUMBER},
                }}), "400": BAD_INPUT},
            }},
            "/download/{s3_directory}/{object_name}": {"get": {
                "summary": "redirect to a presigned GET URL, for links",
                "parameters": [
                    _path("s3_directory", "data, info-images, allsky or test",
                          {"type": "string", "enum": list(rules.S3_DIRECTORIES)}),
                    _path("object_name", "a bare file name",
                          {"type": "string", "pattern": NAME_PATTERN, "maxLength": validate.MAX_OBJECT_NAME}),
                ],
                "responses": {"307": {"description": "to the file"}, "400": BAD_INPUT, "403": REFUSED,
                              "404": _plain("no such file")},
            }},
            "/health": {"get": {"responses": {"200": _json("the site is up", {
                "type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}}),
                "503": _plain("the S3 server (weed) is not answering: the text says why")}}},
            "/numbers/reserve": {"post": {
                "description": (
                    "The local site's own service (the real API has none): file numbers for one camera "
                    "that no other sender to this site gets, after every number it handed out or stores "
                    "and after the caller's own counter `after`."
                ),
                "requestBody": {"required": True, "content": {JSON: {"schema": {
                    "type": "object",
                    "required": ["site", "inst", "count"],
                    "properties": {
                        "site": {"type": "string", "pattern": "^[A-Za-z0-9]{3,6}$"},
                        "inst": {"type": "string", "pattern": "^[A-Za-z0-9_]{1,16}$"},
                        "count": {"type": "integer", "minimum": 1, "maximum": naming.MAX_FILE_NUMBER},
                        "after": {"type": "integer", "minimum": 0, "maximum": naming.MAX_FILE_NUMBER, "default": 0},
                    },
                }}}},
                "responses": {
                    "200": _json("numbers start .. stop-1 are the caller's", {
                        "type": "object", "required": ["site", "inst", "start", "stop"],
                        "properties": {"start": {"type": "integer"}, "stop": {"type": "integer"}}}),
                    "400": BAD_INPUT, "409": _plain("the camera's 8-digit space is full"), "413": too_large,
                },
            }},
            "/": {"get": {"responses": {"307": {"description": "to the observe page of a site with data"}}}},
            "/site/{site}/observe": {"get": {"parameters": [SITE],
                                             "responses": {"200": HTML, "400": BAD_INPUT}}},
            "/site/{site}/observe.json": {"get": {
                "parameters": [SITE],
                "responses": {"200": _json("what the observe page draws", {
                    "type": "object", "required": ["site", "sites", "cards", "info"]}),
                    "400": BAD_INPUT},
            }},
        },
    }
