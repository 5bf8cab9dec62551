"""The local site's web app: every URL in one table, and the few things wrapped around it.

`_routes()` is the one place to read which paths exist, with which methods and handler; the
handlers live in `api.py` (the real service's routes) and `pages.py` (the observe page). Around
them: the body-size limit (`limits.py`), one handler turning `HTTPProblem` into plain text, and
the real API Gateway's 502 for anything unexpected. Slashes are not redirected, because a real
client calling `/upload/` must get an answer there, not a 307 to somewhere else.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from send_test_images.localsite.web import api, pages
from send_test_images.localsite.web.context import ApiContext
from send_test_images.localsite.web.limits import BodyLimit
from send_test_images.localsite.web.problems import HTTPProblem, internal_error, problem_response

POST = ["POST"]
GET = ["GET"]


def _routes() -> list[BaseRoute]:
    """Every route the site answers, in one list."""
    return [
        # the real service's routes
        Route("/upload", api.upload, methods=POST),
        Route("/upload/", api.upload, methods=POST),
        Route("//upload/", api.upload, methods=POST),
        Route("/download", api.download, methods=POST),
        Route("/download/", api.download, methods=POST),
        Route("/{site}/latest_images/{count}", api.latest_images, methods=GET),
        Route("/image/{base_filename}", api.image, methods=GET),
        Route("/fitsheader/{base_filename}", api.fitsheader, methods=GET),
        Route("/infoimage/{site}/{channel}", api.infoimage, methods=GET),
        Route("/recentuploads", api.recentuploads, methods=GET),
        # the local site's own
        Route("/health", api.health, methods=GET),
        Route("/numbers/reserve", api.reserve_numbers, methods=POST),
        Route("/openapi.json", api.openapi_json, methods=GET),
        Route("/download/{directory}/{name}", pages.download_redirect, methods=GET),
        Route("/", pages.root, methods=GET),
        Route("/site/{site}/observe", pages.observe_page, methods=GET),
        Route("/site/{site}/observe.json", pages.observe_json, methods=GET),
        Mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static"),
    ]


def make_app(ctx: ApiContext) -> Starlette:
    """The ASGI app for one site; handlers reach `ctx` as `request.app.state.ctx`."""
    app = Starlette(
        routes=_routes(),
        middleware=[Middleware(BodyLimit, max_bytes=ctx.max_body_bytes)],
        exception_handlers={HTTPProblem: problem_response, Exception: internal_error},
    )
    app.router.redirect_slashes = False
    app.state.ctx = ctx
    return app
