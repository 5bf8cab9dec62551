"""The route table and the OpenAPI description name the same URLs, so neither drifts alone."""

from __future__ import annotations

import re

from starlette.routing import Route

from send_test_images.localsite.web.app import _routes
from send_test_images.localsite.web.context import ApiContext
from send_test_images.localsite.web.openapi import describe

SLASHLESS = {("POST", "//upload/"): ("POST", "/upload")}
"""A real site's `//upload/` is the twin of /upload (the description says so in its text)."""
SELF = {("GET", "/openapi.json")}


def _shape(path: str) -> str:
    """A path with its parameter names blanked: the table and the description name them apart."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def _table() -> set[tuple[str, str]]:
    return {
        (method, _shape(route.path))
        for route in _routes() if isinstance(route, Route)
        for method in route.methods or () if method != "HEAD"
    }


def _described() -> set[tuple[str, str]]:
    # describe() reads only the limits; the rest of the context is never touched
    ctx = ApiContext(db=None, s3=None, direct=None, bucket="b", s3_url="http://127.0.0.1:1")  # type: ignore[arg-type]
    paths = describe(ctx)["paths"]
    return {(method.upper(), _shape(path)) for path, methods in paths.items() for method in methods}


def test_every_described_route_is_in_the_table() -> None:
    assert _described() <= _table()


def _twin(route: tuple[str, str]) -> tuple[str, str] | None:
    """The described route a trailing-slash alias answers like (API Gateway takes both)."""
    method, path = route
    if route in SLASHLESS:
        return SLASHLESS[route]
    return (method, path[:-1]) if path.endswith("/") and len(path) > 1 else None


def test_every_route_in_the_table_is_described_or_an_alias() -> None:
    described = _described()
    undescribed = _table() - described - SELF
    assert {route for route in undescribed if _twin(route) not in described} == set()


def test_every_described_real_route_has_its_trailing_slash_twin() -> None:
    own = {("GET", "/health"), ("GET", "/"), ("GET", "/site/{}/observe"), ("GET", "/site/{}/observe.json"),
           ("GET", "/download/{}/{}"), ("POST", "/numbers/reserve"), ("GET", "/site/{}/image/{}"),
           ("GET", "/site/{}/image/{}.json"), ("GET", "/site/{}/image/{}/histogram.json"),
           ("GET", "/site/{}/image/{}/star.json"), ("GET", "/favicon.ico")}
    table = _table()
    assert {(m, p) for m, p in _described() - own if (m, p + "/") not in table} == set()
