"""Refuse request bodies over a size limit before any route reads them.

The API only ever takes a small JSON body (an object name and a directory), so anything bigger is
a mistake or an attack; it is answered 413 with a plain sentence, without reading the rest. The
body is read here once, up to the limit, and handed on whole, so routes never see a partial body.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from send_test_images.localsite.web.problems import PLAIN

DEFAULT_MAX_BODY_BYTES = 64 * 1024
"""A presign body is ~100 bytes; 64 KiB leaves room for any `metadata` a site sends."""


def too_large_text(limit: int) -> bytes:
    """The 413 sentence; it names the limit, so a client knows what would have been accepted."""
    return f"the request body is larger than {limit} bytes: send only the JSON object".encode()


class BodyLimit:
    """ASGI middleware: 413 for a declared or actual body over `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; let the app see that
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        text = too_large_text(self.max_bytes)
        headers = [(b"content-type", PLAIN.encode()), (b"content-length", str(len(text)).encode()),
                   (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": text})


def _content_length(scope: Scope) -> int | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None

