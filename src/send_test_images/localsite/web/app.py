"""The local site's web app: every URL in one table, and the few things wrapped around it.

`_routes()` is the one place to read which paths exist, with which methods and handler; the
handlers live in `api.py` (the real API's routes), `services.py` (the other real services the web
UI calls: config, status, logs, calendar), `datastream.py` (the live-update websocket),
`pages.py` (the observe page, its JSON and permalinks) and `pixelviews.py` (its histogram and star
profile). Around them: CORS as the real API answers it (`cors.py`), the
body-size limit (`limits.py`), one handler turning `HTTPProblem` into plain text, and the real API
Gateway's 502 for anything unexpected. Slashes are not redirected: a real client calling a path
with a trailing slash (the UI's `/fitsheader/{base}/`, a site's `//upload/`) gets the answer
there, as API Gateway gives it, not a 307 to somewhere else. `_real` lists each real route once
and adds its trailing-slash twin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Match, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from send_test_images.localsite.db import DatabaseUnavailable
from send_test_images.localsite.web import api, datastream, pages, pixelviews, services
from send_test_images.localsite.web.context import ApiContext
from send_test_images.localsite.web.cors import Cors
from send_test_images.localsite.web.limits import BodyLimit
from send_test_images.localsite.web.problems import HTTPProblem, database_unavailable, internal_error, problem_response

POST = ["POST"]
GET = ["GET"]


def _real(path: str, handler: Callable[..., Any], methods: list[str]) -> list[Route]:
    """A real service's route, answered with and without a trailing slash."""
    return [Route(path, handler, methods=methods), Route(path + "/", handler, methods=methods)]


def _routes() -> list[BaseRoute]:
    """Every route the site answers, in one list."""
    return [
        # the real API (LCOGT/photonranch-api serverless.yml)
        *_real("/upload", api.upload, POST),
        Route("//upload/", api.upload, methods=POST),
        *_real("/download", api.download, POST),
        *_real("/downloadzip", api.downloadzip, POST),
        *_real("/all/config", services.all_config, GET),
        *_real("/latest_image_all_sites", services.latest_image_all_sites, GET),
        *_real("/filtered_images", api.filtered_images, GET),
        *_real("/recentuploads", api.recentuploads, GET),
        *_real("/image/{base_filename}", api.image, GET),
        *_real("/fitsheader/{base_filename}", api.fitsheader, GET),
        *_real("/infoimage/{site}/{channel}", api.infoimage, GET),
        *_real("/nightlog/{site}", services.nightlog, GET),
        *_real("/{site}/latest_images/{count}", api.latest_images, GET),
        *_real("/{site}/config", services.site_config, GET),
        # the status, logs and calendar services, answered empty (services.py)
        *_real("/allopenstatus", services.empty_object, GET),
        *_real("/{site}/complete_status", services.complete_status, GET),
        *_real("/{site}/obs_settings", services.empty_status, GET),
        *_real("/{site}/wema_settings", services.empty_status, GET),
        *_real("/{site}/forecast", services.empty_status, GET),
        *_real("/{site}/owm_report", services.empty_owm_report, GET),
        *_real("/phase_status/{site}", services.phase_status, GET),
        *_real("/recent-logs", services.empty_list, GET),
        *_real("/get-event-at-time", services.no_reservation, POST),
        # the datastream (wss://datastream.photonranch.org/dev)
        WebSocketRoute("/datastream", datastream.datastream),
        WebSocketRoute("/dev", datastream.datastream),
        # the local site's own
        Route("/health", api.health, methods=GET),
        Route("/numbers/reserve", api.reserve_numbers, methods=POST),
        Route("/openapi.json", api.openapi_json, methods=GET),
        Route("/download/{directory}/{name}", pages.download_redirect, methods=GET),
        Route("/", pages.root, methods=GET),
        Route("/site/{site}/observe", pages.observe_page, methods=GET),
        Route("/site/{site}/observe.json", pages.observe_json, methods=GET),
        Route("/site/{site}/image/{base_filename}.json", pages.image_json, methods=GET),
        Route("/site/{site}/image/{base_filename}/histogram.json", pixelviews.histogram_json, methods=GET),
        Route("/site/{site}/image/{base_filename}/star.json", pixelviews.star_json, methods=GET),
        Route("/site/{site}/image/{base_filename}", pages.image_page, methods=GET),
        Route("/favicon.ico", pages.favicon, methods=GET),
        Mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static"),
    ]


def _methods_of(routes: list[BaseRoute]) -> Callable[[Scope], list[str]]:
    """For a preflight: the methods the routes answer at the request's path."""

    def methods(scope: Scope) -> list[str]:
        found: set[str] = set()
        probe = {**scope, "method": "GET"}
        for route in routes:
            if isinstance(route, Route) and route.matches(probe)[0] != Match.NONE:
                found |= route.methods or set()
        return sorted(found)

    return methods


def make_app(ctx: ApiContext) -> Starlette:
    """The ASGI app for one site; handlers reach `ctx` as `request.app.state.ctx`."""
    routes = _routes()
    app = Starlette(
        routes=routes,
        middleware=[Middleware(Cors, methods_of=_methods_of(routes)),
                    Middleware(BodyLimit, max_bytes=ctx.max_body_bytes)],
        exception_handlers={HTTPProblem: problem_response, DatabaseUnavailable: database_unavailable,
                            Exception: internal_error},
    )
    app.router.redirect_slashes = False
    app.state.ctx = ctx
    return app
