"""The histogram and star profile of an image, measured from its small FITS (`pixels.py`).

The real page asks a quick-analysis service for these (LCOGT/ptr_ui `HistogramTool.vue`,
`StarProfile.vue`); ours are two JSON routes under `/site/{site}/image/{base}/`, reading the
image's `…10.fits.fz` (its `…01.fits.fz` when there is no small one) from S3. A missing FITS is a
404 naming the image; a file that is not a readable image is a 422 saying so.
"""

from __future__ import annotations

import math

import numpy as np
from starlette.requests import Request
from starlette.responses import Response

from send_test_images.errors import LocalSiteError
from send_test_images.localsite import pixels
from send_test_images.localsite.observe import keys_prefix
from send_test_images.localsite.web.context import context_of
from send_test_images.localsite.web.inputs import path_param
from send_test_images.localsite.web.jsonbody import FiniteJSONResponse
from send_test_images.localsite.web.pages import image_at
from send_test_images.localsite.web.problems import HTTPProblem

SMALL_FITS = "10.fits"
READ_ERRORS = (OSError, ValueError, TypeError, IndexError, KeyError)
"""What astropy raises for bytes that are not a FITS image."""


def _pixels(request: Request) -> np.ndarray:
    site, base = path_param(request, "site"), path_param(request, "base_filename")
    ctx = context_of(request)
    row = image_at(ctx.db, site, base)
    fits_keys = [k for k in ctx.db.object_keys(keys_prefix(row)) if ".fits" in k.rsplit("/", 1)[-1]]
    if not fits_keys:
        raise HTTPProblem(404, f"No FITS file stored for {base}: its pixels cannot be measured")
    key = next((k for k in fits_keys if SMALL_FITS in k), fits_keys[0])
    try:
        return pixels.fits_pixels(ctx.direct.get(key))
    except LocalSiteError:
        raise HTTPProblem(404, f"No file stored under {key}") from None
    except READ_ERRORS as exc:
        raise HTTPProblem(422, f"{key} is not a readable FITS image: {exc}") from None


def histogram_json(request: Request) -> Response:
    return FiniteJSONResponse(pixels.histogram(_pixels(request)).as_json())


def _fraction(request: Request, name: str) -> float:
    text = request.query_params.get(name, "")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise HTTPProblem(400, f"{name} {text!r} is not allowed: use a fraction of the image from 0 to 1")
    return value


def star_json(request: Request) -> Response:
    """`?x=&y=`: where the click was, as fractions of the JPG from its top-left corner."""
    fx, fy = _fraction(request, "x"), _fraction(request, "y")
    return FiniteJSONResponse(pixels.star_profile(_pixels(request), fx, fy).as_json())
