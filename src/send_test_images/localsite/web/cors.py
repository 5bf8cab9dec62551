"""CORS as the real API answers it, so a browser page on another origin (the real web UI on
`localhost:8080`) can call the local site.

The real service sets two headers on every answer (`http_response` in LCOGT/photonranch-api
`api/helpers.py`): `Access-Control-Allow-Origin: *` and `Access-Control-Allow-Credentials: true`.
Preflights never reach its handlers: API Gateway answers `OPTIONS` itself for every path declared
with `cors: true` (every path in its `serverless.yml`), with 200, an empty body, the origin `*`,
the Serverless Framework's default allowed headers and the methods declared for that path plus
OPTIONS. This middleware does both, so the answers match header for header, refusals included
(the real 403 and 404 come from the handler and carry the same two headers; its 502 does not).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOW_ORIGIN = b"*"
ALLOW_CREDENTIALS = b"true"
PREFLIGHT_HEADERS = (
    b"Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token,X-Amz-User-Agent"
)
"""The Serverless Framework's default `cors: true` header list (its API Gateway CORS compiler)."""

GATEWAY_FAILURE = 502
"""API Gateway's own answer when a handler fails never reached the handler's headers, so the real
502 carries no CORS headers (a browser reports it as a CORS error); ours neither."""

ANSWER_HEADERS = [
    (b"access-control-allow-origin", ALLOW_ORIGIN),
    (b"access-control-allow-credentials", ALLOW_CREDENTIALS),
]


class Cors:
    """ASGI middleware: CORS headers on every HTTP answer; OPTIONS answered as API Gateway does.

    `methods_of(path)` names the methods the route table answers at `path` (empty: no route), so
    a preflight lists exactly what the path takes.
    """

    def __init__(self, app: ASGIApp, methods_of: Callable[[Scope], list[str]]) -> None:
        self.app = app
        self.methods_of = methods_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            methods = self.methods_of(scope)
            if methods:
                await self._preflight(send, methods)
                return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] != GATEWAY_FAILURE:
                message = {**message, "headers": [*message.get("headers", []), *ANSWER_HEADERS]}
            await send(message)

        await self.app(scope, receive, with_cors)

    @staticmethod
    async def _preflight(send: Send, methods: list[str]) -> None:
        allowed = ",".join(["OPTIONS", *sorted(m for m in methods if m not in ("HEAD", "OPTIONS"))])
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"0"),
            (b"access-control-allow-origin", ALLOW_ORIGIN),
            (b"access-control-allow-headers", PREFLIGHT_HEADERS),
            (b"access-control-allow-methods", allowed.encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
