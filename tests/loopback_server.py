"""A scriptable stand-in for the Photon Ranch API and S3, on 127.0.0.1, for upload tests.

It plays both steps of protocol page §1: `POST /upload` answers a presigned-POST dict whose `url`
points back at this server's `/s3`, and `POST /s3` takes the multipart body. By default both
succeed; a test queues other answers (`Reply`, `Stall`, `Drop`) per route, and reads back every
request in `requests`. The multipart body is parsed as it arrives and only small parts are kept,
so a 64 MB upload costs the server a few chunks of memory, not 64 MB.

It is stdlib `http.server` on purpose: it gives exact control over the socket, which a stall or
a dropped connection needs.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import socket
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

API_ROUTE = "/upload"
S3_ROUTE = "/s3"
DIRECTORIES = ("data", "info-images", "allsky", "test")
CHANNELS = (1, 2, 3)
CHUNK = 64 * 1024
SMALL_PART = 4096
"""Parts up to this size keep their bytes in the record (fields); larger ones only size+hash."""
HANDLER_SOCKET_TIMEOUT = 10.0
SHUTDOWN_POLL = 0.05

BAD_DIRECTORY = "s3_directory must be either 'data', 'info-images', or 'allsky'."


@dataclass(frozen=True)
class Reply:
    """Answer with this status and body."""

    status: int
    body: str = ""
    content_type: str = "text/plain"


@dataclass(frozen=True)
class Stall:
    """Read the request, then say nothing for `seconds` (or until the server stops)."""

    seconds: float


@dataclass(frozen=True)
class Drop:
    """Read the request, then close the connection without an answer."""


@dataclass(frozen=True)
class Drip:
    """Answer one byte every `seconds`, `count` bytes in all (a 204 whose headers never end), then
    close: every read gets something long before any per-read timeout, so only a deadline for
    the whole request ends it."""

    seconds: float
    count: int


Action = Reply | Stall | Drop | Drip

DRIP_HEAD = b"HTTP/1.1 204 No Content\r\nX-Drip: "


def s3_error(status: int, code: str, message: str) -> Reply:
    """An S3 error document, as S3 sends it."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        "<RequestId>TESTREQUEST</RequestId><HostId>loopback</HostId></Error>"
    )
    return Reply(status, body, "application/xml")


def policy_expired() -> Reply:
    return s3_error(403, "AccessDenied", "Invalid according to Policy: Policy expired.")


@dataclass
class Part:
    """One multipart part as the server saw it."""

    name: str
    filename: str | None
    size: int = 0
    value: bytes = b""
    sha256: Any = field(default_factory=hashlib.sha256, repr=False)

    def add(self, data: bytes) -> None:
        self.size += len(data)
        self.sha256.update(data)
        if self.size <= SMALL_PART:
            self.value += data

    @property
    def digest(self) -> str:
        return self.sha256.hexdigest()


@dataclass
class Recorded:
    """One request: what a test asserts on."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""
    parts: list[Part] = field(default_factory=list)
    body_size: int = 0

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def part_names(self) -> list[str]:
        return [part.name for part in self.parts]

    @property
    def fields(self) -> dict[str, str]:
        return {p.name: p.value.decode() for p in self.parts if p.filename is None}


class _MultipartReader:
    """Splits multipart/form-data fed in arbitrary chunks, holding at most a chunk or so."""

    def __init__(self, boundary: bytes) -> None:
        self._delimiter = b"\r\n--" + boundary
        self._buffer = b"\r\n"  # so that the opening boundary looks like every later one
        self._state = "preamble"
        self._part: Part | None = None
        self.parts: list[Part] = []

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while self._step():
            pass

    def _step(self) -> bool:
        buf = self._buffer
        if self._state in ("preamble", "body"):
            at = buf.find(self._delimiter)
            if at < 0:
                keep = len(self._delimiter)
                if self._part is not None and len(buf) > keep:
                    self._part.add(buf[:-keep])
                    self._buffer = buf[-keep:]
                return False
            if self._part is not None:
                self._part.add(buf[:at])
                self._part = None
            self._buffer = buf[at + len(self._delimiter) :]
            self._state = "after-delimiter"
            return True
        if self._state == "after-delimiter":
            if len(buf) < 2:
                return False
            self._state = "end" if buf[:2] == b"--" else "headers"
            self._buffer = buf[2:]
            return self._state == "headers"
        if self._state == "headers":
            at = buf.find(b"\r\n\r\n")
            if at < 0:
                return False
            headers = buf[:at].decode("latin-1")
            name = re.search(r'name="([^"]*)"', headers)
            filename = re.search(r'filename="([^"]*)"', headers)
            self._part = Part(name.group(1) if name else "", filename.group(1) if filename else None)
            self.parts.append(self._part)
            self._buffer = buf[at + 4 :]
            self._state = "body"
            return True
        return False  # end: ignore the epilogue


class ThreadedLoopback:
    """A ThreadingHTTPServer on 127.0.0.1:0 in a daemon thread, for `with` use.

    On exit it also cuts every open connection, so a handler stalled on purpose cannot keep the
    test (or the suite) waiting.
    """

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._httpd.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        self._thread.join()


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, no log noise, and answers sent at once."""

    protocol_version = "HTTP/1.1"
    timeout = HANDLER_SOCKET_TIMEOUT

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm meets the
        # client's delayed ACK and every answer takes 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        owner: ThreadedLoopback = self.server.owner  # type: ignore[attr-defined]
        with owner._lock:
            owner._connections.add(self.connection)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        owner: ThreadedLoopback = self.server.owner  # type: ignore[attr-defined]
        with owner._lock:
            owner._connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def drip(handler: BaseHTTPRequestHandler, action: Drip, stopping: threading.Event) -> None:
    """Send `action.count` bytes of a never-ending header, one per `action.seconds`."""
    data = (DRIP_HEAD + b"a" * action.count)[: action.count]
    for byte in data:
        if stopping.wait(action.seconds):
            return
        try:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
        except OSError:
            return  # the client gave up: that was the point


class LoopbackServer(ThreadedLoopback):
    """Start with `with LoopbackServer() as server:`; `server.url` is the API base URL."""

    def __init__(self) -> None:
        super().__init__(_Handler)
        self.api_script: deque[Action] = deque()
        self.s3_script: deque[Action] = deque()
        self.requests: list[Recorded] = []
        self.objects: dict[str, Part] = {}
        self.latest_images: dict[str, list[dict[str, Any]]] = {}
        self.recent_uploads: dict[str, list[dict[str, Any]]] = {}

    def to(self, path: str) -> list[Recorded]:
        """The recorded requests to one route, in arrival order."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # called from handler threads

    def _next(self, script: deque[Action]) -> Action | None:
        with self._lock:
            return script.popleft() if script else None

    def _record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)


class _Handler(QuietHandler):
    @property
    def owner(self) -> LoopbackServer:
        return self.server.owner  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self._read_body()
        self.owner._record(self._recorded())
        latest = re.fullmatch(r"/([^/]+)/latest_images/(\d+)", url.path)
        if latest:
            rows = self.owner.latest_images.get(latest.group(1))
            if rows is None:
                return self._answer(Reply(404, "no such site"))
            return self._json(200, rows[: int(latest.group(2))])
        if url.path == "/recentuploads":
            site = parse_qs(url.query).get("site", [""])[0]
            return self._json(200, self.owner.recent_uploads.get(site, []))
        return self._answer(Reply(404, "not found"))

    def do_POST(self) -> None:
        path = "/" + urlsplit(self.path).path.strip("/")
        if path == API_ROUTE:
            return self._api()
        if path == S3_ROUTE:
            return self._s3()
        self._read_body()
        self._answer(Reply(404, "not found"))

    def _api(self) -> None:
        record = self._recorded()
        record.body, record.body_size = self._read_body()
        self.owner._record(record)
        action = self.owner._next(self.owner.api_script)
        if action is not None:
            return self._answer(action)
        body = json.loads(record.body)
        directory = body.get("s3_directory", "data")
        if directory not in DIRECTORIES:
            return self._answer(Reply(403, BAD_DIRECTORY))
        channel = body.get("info_channel")
        if channel is not None and channel not in CHANNELS:
            message = f"Value for info_channel must be either 1, 2, or 3. Received {channel} instead."
            return self._answer(Reply(403, message))
        key = f"{directory}/{body['object_name']}"
        policy = json.dumps({"expiration": "2026-11-24T12:05:00Z", "conditions": [{"key": key}]})
        self._json(
            200,
            {
                "url": f"{self.owner.url}{S3_ROUTE}",
                "fields": {
                    "key": key,
                    "x-amz-algorithm": "AWS4-HMAC-SHA256",
                    "x-amz-credential": "LOOPBACK/20261124/us-east-1/s3/aws4_request",
                    "x-amz-date": "20261124T120000Z",
                    "x-amz-security-token": "loopback-token",
                    "policy": base64.b64encode(policy.encode()).decode(),
                    "x-amz-signature": "0" * 64,
                },
            },
        )

    def _s3(self) -> None:
        record = self._recorded()
        boundary = re.search(r"boundary=\"?([^\";]+)", self.headers.get("Content-Type", ""))
        reader = _MultipartReader(boundary.group(1).encode()) if boundary else None
        _, record.body_size = self._read_body(reader)
        record.parts = reader.parts if reader else []
        self.owner._record(record)
        action = self.owner._next(self.owner.s3_script)
        if action is not None:
            return self._answer(action)
        files = [p for p in record.parts if p.name == "file"]
        if len(files) != 1:
            return self._answer(
                s3_error(400, "InvalidArgument", "POST requires exactly one file upload per request.")
            )
        self.owner.objects[record.fields.get("key", "")] = files[0]
        self._answer(Reply(204))

    # -- plumbing --

    def _recorded(self) -> Recorded:
        url = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        return Recorded(self.command, "/" + url.path.strip("/"), parse_qs(url.query), headers)

    def _read_body(self, reader: _MultipartReader | None = None) -> tuple[bytes, int]:
        """(body, size): the whole body, or with a reader only its size (parts go to the reader)."""
        kept = bytearray()
        size = 0
        for chunk in self._body_chunks():
            size += len(chunk)
            if reader is None:
                kept += chunk
            else:
                reader.feed(chunk)
        return bytes(kept), size

    def _body_chunks(self) -> Iterator[bytes]:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return
                yield self.rfile.read(size)
                self.rfile.readline()
        remaining = int(self.headers.get("Content-Length") or 0)
        while remaining > 0:
            chunk = self.rfile.read(min(CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk

    def _json(self, status: int, data: Any) -> None:
        self._answer(Reply(status, json.dumps(data), "application/json"))

    def _answer(self, action: Action) -> None:
        if isinstance(action, Drop):
            self.close_connection = True
            return
        if isinstance(action, Drip):
            self.close_connection = True
            drip(self, action, self.owner.stopping)
            return
        if isinstance(action, Stall):
            self.owner.stopping.wait(action.seconds)
            self.close_connection = True
            action = Reply(204)
        body = action.body.encode()
        try:
            self.send_response(action.status)
            if body:
                self.send_header("Content-Type", action.content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True  # the client gave up waiting: that was the point
