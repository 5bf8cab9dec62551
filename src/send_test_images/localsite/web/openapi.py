"""The local API described as OpenAPI 3.0, served at `/openapi.json` and fuzzed by the tests.

Written by hand next to the routes (the table in `app.py`) rather than generated, so it also
says what the real service does not: the size limits, the name rules and which 4xx each refusal
is. Limits come from the running site, so the description never drifts from what is enforced.
"""

from __future__ import annotations

from typing import Any

from send_test_images.exposure import naming
from send_test_images.localsite import imagequery, rules, validate
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
TRUE_OR_NULL = {"type": "boolean", "nullable": True}
STRING = {"type": "string"}
# A text filter the database compares: PostgreSQL cannot hold a NUL, so both engines refuse one.
FILTER_TEXT = {"type": "string", "pattern": "^[^\\x00]*$"}
IMAGE_RECORD = {
    "type": "object",
    "description": "Image.get_image_pkg (LCOGT/photonranch-api api/db.py), key for key",
    "required": ["image_id", "base_filename", "data_type", "site", "exposure_time", "filter_used",
                 "right_ascension", "declination", "azimuth", "altitude", "airmass", "fits_01_exists",
                 "fits_10_exists", "jpg_medium_exists", "jpg_small_exists", "s3_directory", "username",
                 "user_id", "fits_filename", "fits_path", "SMARTSTK", "SSTKNUM", "capture_date", "sort_date",
                 "jpg_url", "jpg_thumbnail_url"],
    "additionalProperties": False,
    "properties": {
        "image_id": {"type": "integer"},
        "base_filename": STRING,
        "data_type": NULLABLE_STRING,
        "site": STRING,
        "exposure_time": NULLABLE_NUMBER,
        "filter_used": NULLABLE_STRING,
        "right_ascension": {**NULLABLE_NUMBER, "description": "CRVAL1 as stored: degrees"},
        "declination": NULLABLE_NUMBER,
        "azimuth": NULLABLE_NUMBER,
        "altitude": NULLABLE_NUMBER,
        "airmass": NULLABLE_NUMBER,
        "fits_01_exists": TRUE_OR_NULL,
        "fits_10_exists": TRUE_OR_NULL,
        "jpg_medium_exists": TRUE_OR_NULL,
        "jpg_small_exists": TRUE_OR_NULL,
        "s3_directory": {"type": "string", "enum": ["data"]},
        "username": NULLABLE_STRING,
        "user_id": NULLABLE_STRING,
        "fits_filename": STRING,
        "fits_path": STRING,
        "SMARTSTK": {"description": "the header's value ('' without one): text from a .txt, typed from a FITS"},
        "SSTKNUM": {"description": "the header's value ('' without one): text from a .txt, typed from a FITS"},
        "capture_date": {"type": "integer", "description": "ms since 1970; the row's arrival until its header lands"},
        "sort_date": {"type": "integer"},
        "jpg_url": {"type": "string", "description": "a presigned GET URL, or ''"},
        "jpg_thumbnail_url": {"type": "string", "description": "a presigned GET URL, or ''"},
    },
}
INFO_RECORD = {
    "type": "object",
    "description": "get_info_image_package (LCOGT/photonranch-api api/info_images.py)",
    "required": ["pk", "site", "channel", "base_filename", "s3_directory", "jpg_medium_exists",
                 "jpg_small_exists", "fits_01_exists", "fits_10_exists", "expiration_timestamp"],
    "properties": {
        "pk": STRING, "site": STRING, "channel": STRING, "base_filename": STRING,
        "s3_directory": {"type": "string", "enum": ["info-images"]},
        "jpg_medium_exists": {"type": "boolean"}, "jpg_small_exists": {"type": "boolean"},
        "fits_01_exists": {"type": "boolean"}, "fits_10_exists": {"type": "boolean"},
        "expiration_timestamp": {"type": "integer"}, "jpg_url": STRING, "header": {"type": "object"},
    },
}
GATEWAY_FAILURE = _json("the real service fails here too: API Gateway's answer", {
    "type": "object", "required": ["message"],
    "properties": {"message": {"type": "string", "enum": ["Internal server error"]}},
})
UPLOAD_LOG_ENTRY = {
    "type": "object",
    "description": "add_to_recent_uploads_log (LCOGT/ptr_data lambda_service/s3_log.py)",
    "required": ["site", "filename", "size_bytes", "upload_timestamp_s", "expire_timestamp_s"],
    "properties": {"site": STRING, "filename": STRING, "size_bytes": {"type": "integer"},
                   "upload_timestamp_s": {"type": "integer"}, "expire_timestamp_s": {"type": "integer"}},
}
ANY_JSON_OBJECT = {"type": "object"}
EMPTY_STATUS = {"type": "object", "required": ["status"], "properties": {"status": {"type": "object"}}}
SITE = _path("site", "site code, e.g. tst")
BASE = _path("base_filename", "{site}-{inst}-{YYYYMMDD}-{NNNNNNNN}")
BAD_INPUT = _plain("a malformed value: the text says which and what is allowed")
REFUSED = _plain("an unknown s3_directory or info_channel, with the real service's text")
HTML = {"description": "the page", "content": {"text/html": {"schema": {"type": "string"}}}}
NO_IMAGE = _plain("no such image at this site")
PIXEL_ERRORS = {"400": BAD_INPUT, "404": _plain("no such image, or no FITS file stored for it"),
                "422": _plain("the stored FITS is not a readable image")}


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
            "image_type": {"description": "/download only: fits (default), fits.fz, fz: an unpacked FITS; "
                                          "tif, tiff: a bz2-compressed TIFF; anything else: the file as stored"},
            "stretch": {"description": "/download with image_type tif: arcsinh (default) or linear"},
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
                "(content-length-range; the real service has no size limit). Every real route is also "
                "answered with a trailing slash, /upload also at //upload/. Every answer carries "
                "Access-Control-Allow-Origin: *; OPTIONS is answered as API Gateway's CORS preflight. "
                "The datastream websocket is at /datastream?site= (and /dev?site=)."
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
                "summary": "a presigned GET URL; image_type fits (default), fits.fz or fz: of a plain FITS "
                           "unpacked from the .fits.fz into downloads/fits/; any other but tif: of the file",
                "requestBody": _name_body(ctx),
                "responses": {"200": _plain("the URL"), "400": BAD_INPUT, "403": REFUSED,
                              "413": too_large, "502": GATEWAY_FAILURE},
            }},
            "/downloadzip": {"post": {
                "summary": "a zip of a site's FITS files captured in a time range",
                "requestBody": {"required": True, "content": {JSON: {"schema": {
                    "type": "object",
                    "required": ["site", "start_timestamp_s", "end_timestamp_s", "fits_size"],
                    "properties": {"site": SITE["schema"], "start_timestamp_s": {"type": "integer"},
                                   "end_timestamp_s": {"type": "integer"},
                                   "fits_size": {"type": "string", "enum": ["small", "large", "best"]}},
                }}}},
                "responses": {"200": _json("the zip's URL", {"type": "object", "required": ["message"],
                                                              "properties": {"message": STRING}}),
                              "400": BAD_INPUT, "404": _plain("No images exist for the given query."),
                              "413": too_large},
            }},
            "/all/config": {"get": {
                "summary": "{site: configuration} for every site with data, and tst",
                "responses": {"200": _json("the configurations", {"type": "object", "additionalProperties": {
                    "type": "object", "required": ["wema_name", "name", "latitude", "longitude",
                                                   "TZ_database_name", "defaults"]}})},
            }},
            "/{site}/config": {"get": {
                "parameters": [SITE],
                "responses": {"200": _json("the site's configuration", ANY_JSON_OBJECT), "400": BAD_INPUT,
                              "502": GATEWAY_FAILURE},
            }},
            "/latest_image_all_sites": {"get": {
                "responses": {"200": _json("{site: URL of its newest medium JPG}", {
                    "type": "object", "additionalProperties": STRING})},
            }},
            "/filtered_images": {"get": {
                "summary": "images with a medium JPG matching every filter, newest first, smartstacks folded",
                "parameters": [
                    *({"name": name, "in": "query", "required": False, "schema": FILTER_TEXT}
                      for name in ("site", "username", "user_id", "filter", "filename")),
                    *({"name": name, "in": "query", "required": False, "schema": {"type": "number"}}
                      for name in ("exposure_time_min", "exposure_time_max")),
                    *({"name": name, "in": "query", "required": False,
                       "description": "UTC, YYYY-MM-DD HH:MM:SS (what the UI sends) or RFC 3339",
                       "schema": {"type": "string", "format": "date-time"}}
                      for name in ("start_date", "end_date")),
                ],
                "responses": {"200": _json("image records", {"type": "array", "items": IMAGE_RECORD}),
                              "400": BAD_INPUT,
                              "502": {**GATEWAY_FAILURE, "description": "no query string at all, as the real one"}},
            }},
            "/nightlog/{site}": {"get": {
                "parameters": [SITE],
                "responses": {"204": {"description": "no note (the real text is dropped on the wire)"},
                              "400": BAD_INPUT},
            }},
            "/allopenstatus": {"get": {"responses": {"200": _json("no site reports status", ANY_JSON_OBJECT)}}},
            "/{site}/complete_status": {"get": {"parameters": [SITE], "responses": {
                "200": _json("no status", ANY_JSON_OBJECT), "400": BAD_INPUT}}},
            **{f"/{{site}}/{name}": {"get": {"parameters": [SITE], "responses": {
                "200": _json("an empty status", EMPTY_STATUS), "400": BAD_INPUT}}}
               for name in ("obs_settings", "wema_settings", "forecast", "owm_report")},
            "/phase_status/{site}": {"get": {"parameters": [SITE], "responses": {
                "200": _json("no phase status", {"type": "array"}), "400": BAD_INPUT}}},
            "/recent-logs": {"get": {"responses": {"200": _json("no logs", {"type": "array"})}}},
            "/get-event-at-time": {"post": {
                "requestBody": {"required": True, "content": {JSON: {"schema": ANY_JSON_OBJECT}}},
                "responses": {"200": _json("no reservation", {"type": "array"}), "400": BAD_INPUT,
                              "413": too_large}}},
            "/{site}/latest_images/{count}": {"get": {
                "summary": "the newest images with a medium JPG, newest DATE-OBS first",
                "parameters": [SITE, _path("count", "how many, 1 to 1000",
                                           {"type": "integer", "minimum": 1, "maximum": 1000}),
                               {"name": "userid", "in": "query", "required": False, "schema": STRING}],
                "responses": {"200": _json("image records", {"type": "array", "items": IMAGE_RECORD}),
                              "400": BAD_INPUT},
            }},
            "/image/{base_filename}": {"get": {
                "parameters": [BASE],
                "responses": {"200": _json("one image record", IMAGE_RECORD), "400": BAD_INPUT,
                              "404": _plain("No results found for {base_filename}: none with a medium JPG")},
            }},
            "/fitsheader/{base_filename}": {"get": {
                "parameters": [BASE],
                "responses": {
                    "200": _json("the header, every value a string; {} before the header lands",
                                 {"type": "object", "additionalProperties": {"type": "string"}}),
                    "400": BAD_INPUT, "404": _plain("No fits header found in the db for {base_filename}"),
                },
            }},
            "/infoimage/{site}/{channel}": {"get": {
                "parameters": [SITE, _path("channel", "1, 2 or 3; any other text answers 204")],
                "responses": {"200": _json("the info image on that channel", INFO_RECORD),
                              "204": {"description": "nothing on that channel (the real text, "
                                                     "No info image for site {site}., is dropped on the wire)"},
                              "400": BAD_INPUT},
            }},
            "/recentuploads": {"get": {
                "parameters": [{"name": "site", "in": "query", "required": False,
                                "description": "a site code, or all; missing: 404 (the real text)",
                                "schema": {"type": "string", "pattern": QUERY_PATTERN,
                                           "maxLength": validate.MAX_PATH_PARAM}}],
                "responses": {"200": _json("the upload log of data/, newest first",
                                           {"type": "array", "items": UPLOAD_LOG_ENTRY}),
                              "400": BAD_INPUT,
                              "404": _plain("Please be sure to include the sitecode query parameter.")},
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
                "parameters": [
                    SITE,
                    *({"name": name, "in": "query", "required": False,
                       "description": "UTC, YYYY-MM-DD[THH:MM[:SS]] (what the page's form sends)",
                       "schema": {"type": "string", "format": "date-time"}} for name in ("start", "end")),
                    *({"name": name, "in": "query", "required": False, "schema": STRING}
                      for name in ("filter", "user", "filename")),
                    *({"name": name, "in": "query", "required": False, "schema": {"type": "number", "minimum": 0}}
                      for name in ("exposure_min", "exposure_max")),
                    {"name": "page", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 0, "maximum": imagequery.MAX_PAGE}},
                ],
                "responses": {"200": _json("what the observe page draws", {
                    "type": "object", "required": ["site", "sites", "has_data", "cards", "info", "page",
                                                    "has_older", "first_of_night"]}),
                    "400": BAD_INPUT},
            }},
            "/site/{site}/image/{base_filename}": {"get": {
                "summary": "the observe page opened on one image (its permalink)",
                "parameters": [SITE, BASE],
                "responses": {"200": HTML, "400": BAD_INPUT, "404": NO_IMAGE}}},
            "/site/{site}/image/{base_filename}.json": {"get": {
                "summary": "one image's card and stored header, data or info image",
                "parameters": [SITE, BASE],
                "responses": {"200": _json("the card and header", {
                    "type": "object", "required": ["card", "header"]}), "400": BAD_INPUT, "404": NO_IMAGE}}},
            "/site/{site}/image/{base_filename}/histogram.json": {"get": {
                "summary": "pixel histogram of the image's small FITS, clipped to 0.5-99.5 percent",
                "parameters": [SITE, BASE],
                "responses": {"200": _json("the histogram", {
                    "type": "object", "required": ["low", "high", "counts", "median"]}), **PIXEL_ERRORS}}},
            "/site/{site}/image/{base_filename}/star.json": {"get": {
                "summary": "radial profile, FWHM and peak of the star nearest a point of the JPG",
                "parameters": [SITE, BASE, *({"name": name, "in": "query", "required": True,
                                               "schema": {"type": "number", "minimum": 0, "maximum": 1}}
                                              for name in ("x", "y"))],
                "responses": {"200": _json("the profile", {
                    "type": "object",
                    "required": ["x", "y", "peak", "sky", "fwhm_pixels", "radii", "values", "width", "height"]}),
                    **PIXEL_ERRORS}}},
            "/favicon.ico": {"get": {"responses": {"308": {"description": "to /static/favicon.svg"}}}},
        },
    }
