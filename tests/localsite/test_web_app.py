"""The route table and the OpenAPI description name the same URLs, so neither drifts alone."""

from __future__ import annotations

import re

from starlette.routing import Route

from send_test_images.localsite.web.app import _routes
from send_test_images.localsite.web.context import ApiContext
from send_test_images.localsite.web.openapi import describe

ALIASES = {("POST", "/upload/"), ("POST", "//upload/"), ("POST", "/download/")}
"""Answered like /upload and /download (the description says so in its text), not listed twice."""
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


def test_every_route_in_the_table_is_described_or_an_alias() -> None:
    assert _table() - _described() == ALIASES | SELF
