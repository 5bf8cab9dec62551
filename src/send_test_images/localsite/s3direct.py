"""The site's own S3 requests on the per-exposure path, without a boto3 client call per request.

Per exposure the API presigns five POSTs and ingestion reads the header and the 10.jpg back and
writes the 11.jpg. Through boto3 each of those spends most of its CPU in event hooks, endpoint
rules, user-agent strings and XML/date parsing that a fixed local weed never needs (~0.8 ms per
GET/PUT on this machine, ~0.1 ms per presign, where the signing itself is ~0.04 ms). Here the
signing is still botocore's own (`S3PostPresigner` with the `s3v4` signer, `S3SigV4Auth` for
GET/PUT), so weed checks exactly what it checks for boto3; only the request plumbing is ours:
one kept-alive connection, retried like boto3's legacy mode retries (connection errors and 5xx),
its HTTP/1.1 framed by h11 (uvicorn's parser): `http.client` reads every answer's headers
through the `email` package, ~0.15 ms of CPU per request, half of what a GET cost with it.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
import time
from typing import Any
from urllib.parse import quote, urlsplit

import h11
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.hooks import HierarchicalEmitter
from botocore.model import ServiceId
from botocore.signers import RequestSigner, S3PostPresigner

from send_test_images.errors import LocalSiteError

SERVICE = "s3"
SIGNATURE_VERSION = "s3v4"
DEFAULT_TIMEOUT_S = 60.0
"""boto3's default connect and read timeout."""
DEFAULT_ATTEMPTS = 5
"""boto3's legacy retry mode: one try and four retries on connection errors and 5xx."""
DEFAULT_BACKOFF_S = 0.05
"""First pause between tries, doubled each time (weed on loopback recovers fast or not at all)."""
KEY_SAFE = "/~"
"""Characters left unquoted in a key's path, as botocore quotes keys."""
RETRYABLE_STATUS = 500
OK_STATUSES = (200, 204, 206)
"""206 answers a ranged GET (`get(..., max_bytes=)`)."""
RANGE_NOT_SATISFIABLE = 416
"""What S3 answers a ranged GET of an empty object: nothing to read, so b""."""
ERROR_TEXT_CHARS = 200
S3_ERROR_CODE = re.compile(rb"<Code>([^<]{1,100})</Code>")
NETWORK_ERRORS = (OSError, h11.ProtocolError)
"""What a dropped or refused connection raises (ConnectionError and timeouts are OSErrors; h11
says RemoteProtocolError when the server hangs up before a whole answer)."""
READ_BYTES = 262144
DEFAULT_PORTS = {"http": 80, "https": 443}


class DirectS3:
    """Presign, GET and PUT against one bucket on one S3 endpoint, signed by botocore.

    Safe to share between threads: presigning is pure, requests take turns on the one
    connection.
    """

    def __init__(
        self,
        url: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        attempts: int = DEFAULT_ATTEMPTS,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/"):
            raise LocalSiteError(f"S3 URL {url!r} is not allowed: use http://HOST:PORT or https://HOST")
        self.url = url.rstrip("/")
        self.bucket = bucket
        self._scheme, self._host, self._port = parts.scheme, parts.hostname, parts.port
        self._host_header = _host_header(parts.scheme, parts.netloc, parts.port)
        self._credentials = Credentials(access_key, secret_key)
        self._region = region
        self._timeout = timeout
        self._attempts = max(1, attempts)
        self._no_hooks = HierarchicalEmitter()  # the signer only keeps a weak reference
        signer = RequestSigner(
            ServiceId(SERVICE), region, SERVICE, SIGNATURE_VERSION, self._credentials,
            self._no_hooks,
        )
        self._post_presigner = S3PostPresigner(signer)
        self._lock = threading.Lock()
        self._connection: _Connection | None = None

    # --- presigned POST ------------------------------------------------------------------------

    def presign_post(
        self, key: str, conditions: list[Any], expires_in: int
    ) -> dict[str, Any]:
        """What boto3's `generate_presigned_post(bucket, key, Conditions=..., ExpiresIn=...)`
        answers for a path-style client: the same url, fields, policy and signature."""
        request_dict = {
            "method": "POST",
            "url": f"{self.url}/{self.bucket}",
            "body": b"",
            "headers": {},
            "context": {"is_presign_request": True},
        }
        return self._post_presigner.generate_presigned_post(
            request_dict=request_dict,
            fields={"key": key},
            conditions=[*conditions, {"bucket": self.bucket}, {"key": key}],
            expires_in=expires_in,
        )

    # --- GET and PUT ---------------------------------------------------------------------------

    def get(self, key: str, max_bytes: int | None = None) -> bytes:
        """The object's bytes, at most `max_bytes` of them (a ranged GET: the rest is never
        sent); LocalSiteError when S3 does not have it or cannot answer."""
        if max_bytes is None:
            return self._request("GET", key, b"", {})
        if max_bytes <= 0:
            return b""
        headers = {"Range": f"bytes=0-{max_bytes - 1}"}
        return self._request("GET", key, b"", headers, empty_ok=RANGE_NOT_SATISFIABLE)[:max_bytes]

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key`; LocalSiteError when S3 refuses or cannot answer."""
        self._request("PUT", key, data, {"Content-Type": content_type})

    def close(self) -> None:
        with self._lock:
            self._drop()

    def __enter__(self) -> DirectS3:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(
        self, method: str, key: str, body: bytes, headers: dict[str, str], empty_ok: int | None = None
    ) -> bytes:
        path = f"/{quote(self.bucket, safe='')}/{quote(key, safe=KEY_SAFE)}"
        problem = ""
        for attempt in range(self._attempts):
            if attempt:
                time.sleep(DEFAULT_BACKOFF_S * 2 ** (attempt - 1))
            # With the Host given, botocore signs it as it is instead of working it out from the
            # URL twice per signature (a fifth of the signing's CPU); it is the same text.
            signed = AWSRequest(method=method, url=self.url + path, data=body,
                                headers={"Host": self._host_header, **headers})
            S3SigV4Auth(self._credentials, SERVICE, self._region).add_auth(signed)
            sent = dict(signed.headers.items())
            try:
                status, answer = self._send(method, path, body, sent)
            except NETWORK_ERRORS as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue
            if status in OK_STATUSES:
                return answer
            if status == empty_ok:
                return b""
            problem = f"HTTP {status} {error_code(answer)}"
            if status < RETRYABLE_STATUS:
                break
        raise LocalSiteError(f"S3 {method} of {key!r} at {self.url} failed: {problem}")

    def _send(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        with self._lock:
            if self._connection is None:
                self._connection = _Connection(self._scheme, self._host, self._port, self._timeout)
            try:
                status, answer, reusable = self._connection.exchange(method, path, headers, body)
            except BaseException:
                self._drop()
                raise
            if not reusable:
                self._drop()
            return status, answer

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _host_header(scheme: str, netloc: str, port: int | None) -> str:
    """The Host header botocore signs: the URL's host, with its port unless it is the scheme's own."""
    netloc = netloc.rpartition("@")[2]
    if port is not None and DEFAULT_PORTS.get(scheme) == port:
        netloc = netloc.rpartition(":")[0]
    return netloc


class _Connection:
    """One HTTP/1.1 connection (TLS for https), kept alive between exchanges while both ends allow."""

    def __init__(self, scheme: str, host: str, port: int | None, timeout: float) -> None:
        sock = socket.create_connection((host, port or DEFAULT_PORTS[scheme]), timeout=timeout)
        if scheme == "https":
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        self._socket = sock
        self._http = h11.Connection(h11.CLIENT)

    def exchange(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, bool]:
        """Send one request, read its whole answer: (status, body, whether the connection may be reused)."""
        http = self._http
        fields = list(headers.items())
        if method != "GET":
            fields.append(("Content-Length", str(len(body))))
        out = http.send(h11.Request(method=method, target=path, headers=fields))
        if body and method != "GET":
            out += http.send(h11.Data(data=body))
        out += http.send(h11.EndOfMessage())
        self._socket.sendall(out)
        status, parts = 0, []
        while True:  # type(), not isinstance(): h11's events are ABCs, whose checks cost
            event = http.next_event()
            kind = type(event)
            if event is h11.NEED_DATA:
                http.receive_data(self._socket.recv(READ_BYTES))
            elif kind is h11.Data:
                parts.append(bytes(event.data))  # type: ignore[union-attr]
            elif kind is h11.Response:
                status = event.status_code  # type: ignore[union-attr]
            elif kind is h11.EndOfMessage:
                break
            elif kind is h11.ConnectionClosed:
                raise ConnectionError("the server closed the connection without an answer")
        reusable = http.our_state is h11.DONE and http.their_state is h11.DONE
        if reusable:
            http.start_next_cycle()
        return status, b"".join(parts), reusable

    def close(self) -> None:
        self._socket.close()


def error_code(answer: bytes) -> str:
    """S3's `<Code>` from an error body, else the start of the body on one line."""
    found = S3_ERROR_CODE.search(answer)
    text = found.group(1) if found else answer[:ERROR_TEXT_CHARS]
    return " ".join(text.decode("utf-8", "replace").split())
