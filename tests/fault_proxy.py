"""A loopback HTTP proxy that misbehaves on cue, put in front of the local site's API and S3.

The real servers do the real work (weed enforces the presigned policy, ingestion runs); the
proxy only adds what they will not do on request: answer 500/502 for a while, stall past the
client's timeout, cut a connection, or hand out a presigned POST that has already expired. It
forwards everything else as it is, and records every answer it delivered, so a test can count
how often each key was really stored.

One proxy per upstream: `api = FaultProxy(site.api_url)`, `s3 = FaultProxy(site.s3_url)`, and
`api.rewrite_presign_to(s3)` so presigned POSTs point at the S3 proxy. `upstream` may be
changed at any time (a restarted site listens on new ports).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from loopback_server import Drop, QuietHandler, Reply, Stall, ThreadedLoopback


@dataclass(frozen=True)
class LoseAnswer:
    """Forward the request (upstream stores the object), then cut the connection instead of
    handing on the answer: S3's 204 lost on the way back, the ambiguous failure."""


Action = Reply | Stall | Drop | LoseAnswer
FILE_PART = re.compile(rb'name="file"; filename="[^"]*"\r\n(?:[^\r\n]+\r\n)*\r\n', re.DOTALL)
UPSTREAM_TIMEOUT = 30.0
HOP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "host", "content-length"})
KEY_FIELD = re.compile(rb'name="key"\r\n\r\n([^\r]*)\r\n')


@dataclass(frozen=True)
class Delivered:
    """One answer the client received (or a connection the proxy cut: status None)."""

    method: str
    path: str
    key: str | None
    status: int | None
    upstream_status: int | None = None
    """What upstream answered, when the request reached it (a lost answer was still stored)."""
    file_digest: str | None = None
    """SHA-256 of the `file` part sent (multipart POSTs only)."""


class FaultProxy(ThreadedLoopback):
    """`with FaultProxy(upstream) as proxy:`; `proxy.url` is where clients should go."""

    def __init__(self, upstream: str) -> None:
        super().__init__(_Handler)
        self.upstream = upstream.rstrip("/")
        self.script: deque[tuple[str | None, Action]] = deque()
        self.when_down: Action = Reply(502, '{"message": "Internal server error"}', "application/json")
        self.presign_hook: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self.delivered: list[Delivered] = []
        self._client = httpx.Client(timeout=UPSTREAM_TIMEOUT)

    def fail_next(self, count: int, action: Action, route: str | None = None) -> None:
        """The next `count` requests (to `route`, e.g. "/upload", or any) get `action` instead."""
        with self._lock:
            self.script.extend([(route, action)] * count)

    def rewrite_presign_to(self, s3: FaultProxy) -> None:
        """Presigned POSTs from upstream will point at `s3` instead of the real S3 server."""

        def rewrite(presigned: dict[str, Any]) -> dict[str, Any]:
            path = urlsplit(presigned["url"]).path
            return {**presigned, "url": s3.url + path}

        self.presign_hook = rewrite

    def stored_upstream(self) -> dict[str, list[str | None]]:
        """For each key, the digest of the bytes of every POST upstream stored (answered 204),
        whether or not the client heard the answer."""
        found: dict[str, list[str | None]] = {}
        with self._lock:
            for answer in self.delivered:
                if answer.key and answer.upstream_status == httpx.codes.NO_CONTENT:
                    found.setdefault(answer.key, []).append(answer.file_digest)
        return found

    def stored(self) -> dict[str, int]:
        """For each key, how many times the client was told 204 (an object was stored)."""
        counts: dict[str, int] = {}
        with self._lock:
            for answer in self.delivered:
                if answer.key and answer.status == httpx.codes.NO_CONTENT:
                    counts[answer.key] = counts.get(answer.key, 0) + 1
        return counts

    def __exit__(self, *exc_info: object) -> None:
        super().__exit__(*exc_info)
        self._client.close()

    # called from handler threads

    def _next_action(self, path: str) -> Action | None:
        with self._lock:
            for entry in self.script:
                route, action = entry
                if route is None or route.strip("/") == path.strip("/"):
                    self.script.remove(entry)
                    return action
            return None

    def _record(self, answer: Delivered) -> None:
        with self._lock:
            self.delivered.append(answer)


class _Handler(QuietHandler):
    @property
    def owner(self) -> FaultProxy:
        return self.server.owner  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        found = KEY_FIELD.search(body)
        key = found.group(1).decode() if found else None
        action = self.owner._next_action(urlsplit(self.path).path)
        digest = _file_digest(body)
        if isinstance(action, LoseAnswer):
            answer = self._forward(body)
            upstream = answer.status if isinstance(answer, Reply) else None
            self._answer(Drop(), key, upstream, digest)
            return
        upstream = None
        if action is None:
            action = self._forward(body)
            upstream = action.status if isinstance(action, Reply) else None
        self._answer(action, key, upstream, digest)

    def _forward(self, body: bytes) -> Action:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        try:
            response = self.owner._client.request(
                self.command, self.owner.upstream + self.path, content=body, headers=headers
            )
        except httpx.HTTPError:
            return self.owner.when_down
        text = response.text
        is_presign = self.command == "POST" and urlsplit(self.path).path.strip("/") == "upload"
        if is_presign and response.status_code == httpx.codes.OK and self.owner.presign_hook:
            text = json.dumps(self.owner.presign_hook(response.json()))
        return Reply(response.status_code, text, response.headers.get("content-type", "text/plain"))

    def _answer(
        self, action: Action, key: str | None, upstream: int | None = None, digest: str | None = None
    ) -> None:
        path = urlsplit(self.path).path
        if isinstance(action, Stall):
            self.owner.stopping.wait(action.seconds)
            action = Drop()
        if isinstance(action, Drop):
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            self.owner._record(Delivered(self.command, path, key, None, upstream, digest))
            return
        assert isinstance(action, Reply)
        body = action.body.encode()
        try:
            self.send_response(action.status)
            if body:
                self.send_header("Content-Type", action.content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True
            self.owner._record(Delivered(self.command, path, key, None, upstream, digest))
            return
        self.owner._record(Delivered(self.command, path, key, action.status, upstream, digest))


def _file_digest(body: bytes) -> str | None:
    """SHA-256 of a multipart body's `file` part (what S3 stores), or None when there is none."""
    found = FILE_PART.search(body)
    if found is None:
        return None
    boundary = body[: body.index(b"\r\n")]
    end = body.rindex(b"\r\n" + boundary)
    return hashlib.sha256(body[found.end():end]).hexdigest()
