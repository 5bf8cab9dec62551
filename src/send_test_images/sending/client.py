"""The only place that talks HTTP to Photon Ranch (or the local stand-in).

Two layers, protocol page §1 and §4:

- `PhotonRanchClient`: one call per endpoint, no retries. Every httpx exception and every
  unexpected answer is turned into `ApiError` / `StorageError` here, once, with the server's
  own words, so nothing above this module ever sees httpx.
- `Uploader`: sends one file the way a careful site does: presign, multipart POST, and try
  again when trying again can help (timeouts, dropped connections, 5xx, S3 `SlowDown`, an
  expired policy), with capped exponential backoff and jitter; never for other 4xx answers.

Both are safe to share between threads: each thread that sends gets an httpx transport (a
connection pool, kept alive) of its own, and requests go to it directly, not through an
httpx.Client (see `PhotonRanchClient`); the only other shared state is the backoff's random
generator.

Every request also has a deadline for the whole of it (`request_deadline`). httpx's timeouts
are per read and per write, so a server that drips a byte a second never trips them: one held
`up --timeout 5 --retries 0` for 127 s. The deadline is kept by the connections themselves (a
wrapped httpcore network backend bounds each read and write by the time left), and a request
that runs out of it fails as a timeout, like a silent server.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import math
import os
import random
import re
import ssl
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpcore
import httpx

from send_test_images import __version__, defaults
from send_test_images.errors import ApiError, StorageError, UploadError, UsageError
from send_test_images.exposure.naming import check_inst, check_site

DEFAULT_TIMEOUT = defaults.TIMEOUT
"""Seconds of silence (connect, each read, each written chunk, waiting for a pooled connection)
before a request counts as failed (the user-facing default, from send_test_images.defaults)."""

DEFAULT_MIN_THROUGHPUT = 1_000_000
"""Bytes per second the S3 answer may take per byte sent, after the last byte: S3 stores large
objects before it answers. (httpx's write timeout bounds each write of 64-128 KiB, so the body
itself may take as long as it needs while it keeps moving.)"""

DEADLINE_TIMEOUTS = 3
"""A request's deadline allows --timeout this many times over (connecting, sending, the answer)..."""

DEFAULT_MIN_UPLOAD_RATE = 100_000
"""... plus the body at this many bytes per second at least, plus S3's time to store it (above).
100 kB/s is a slow uplink; a server dripping an answer sends one byte a second."""

WRITE_SIZE = 64 * 1024
"""Bytes a multipart body is sent in at least (but the last write): httpx reads files in 64 KiB."""

DEFAULT_RETRIES = defaults.RETRIES
"""Extra tries after the first, for failures that may pass."""

DEFAULT_BACKOFF_BASE = 0.5
"""Seconds before the first retry (before jitter); doubles with every further retry."""

DEFAULT_BACKOFF_CAP = 30.0
"""Longest wait between two tries, in seconds."""

DEFAULT_PRESIGN_MAX_AGE = 240.0
"""A presigned POST's policy expires after 300 s; older than this, ask for a fresh one."""

DEFAULT_LATEST_IMAGES = 100
"""How many of the newest images `highest_file_number` looks at."""

MAX_ERROR_TEXT = 300
"""Characters of a server's error text kept in a message (HTML error pages can be long)."""

S3_DIRECTORY = "data"

RETRYABLE_STATUSES = frozenset({408, 429})
"""4xx answers that mean "later", not "no"; every 5xx is retryable too."""

RETRYABLE_S3_CODES = frozenset({"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable"})

USER_AGENT = f"send-test-images/{__version__}"

PLAIN_HTTP = "http"
"""The one scheme that needs no TLS context (`PhotonRanchClient._http`)."""

Source = str | os.PathLike[str] | bytes | bytearray | memoryview


@dataclass(frozen=True)
class UploadResult:
    """What one successful `Uploader.send` did; seconds are totals over all tries."""

    key: str
    status: int
    api_seconds: float
    s3_seconds: float
    attempts: int
    bytes: int


class PhotonRanchClient:
    """One method per Photon Ranch endpoint; raises ApiError / StorageError, never httpx errors.

    Requests go straight to httpx's transport (`httpx.HTTPTransport`, its connection pool kept
    alive), one per thread that calls, so at most one connection per host per thread. An
    `httpx.Client` in front of it cost a third of each request's CPU on work these requests do
    not need (merging URLs, headers and cookies into every request, a cookie jar fed from every
    answer, auth and redirect loops, a log record): 0.42 -> 0.27 ms a presign, measured. What the
    Client added that these requests need is here once: its default headers (`_client_headers`),
    the timeouts, and basic auth for a URL that carries a user name. Cookies were never needed
    (neither the API nor S3 sets one), and env proxies were never used (httpx ignores them when
    given a transport, as this module always did).
    """

    def __init__(
        self,
        api_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        min_throughput: float = DEFAULT_MIN_THROUGHPUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        _check_positive("timeout", timeout)
        _check_positive("minimum throughput", min_throughput)
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.min_throughput = min_throughput
        self._transport = transport
        self._timeouts = httpx.Timeout(timeout).as_dict()
        self._local = threading.local()
        self._transports: list[httpx.BaseTransport] = [transport] if transport is not None else []
        self._transports_lock = threading.Lock()

    def _http(self, scheme: str) -> httpx.BaseTransport:
        """This thread's transport for `scheme`, made on first use; its connections keep `_deadline`.

        Plain http and https get transports of their own, so a run that never meets https (any
        local site) never loads the CA bundle for a verifying TLS context (~20 ms of CPU).
        """
        if self._transport is not None:
            return self._transport
        transports: dict[str, httpx.BaseTransport] | None = getattr(self._local, "transports", None)
        if transports is None:
            transports = self._local.transports = {}
        transport = transports.get(scheme)
        if transport is None:
            transport = _deadline_transport(tls=scheme != PLAIN_HTTP)
            with self._transports_lock:
                self._transports.append(transport)
            transports[scheme] = transport
        return transport

    def _request(self, method: str, url: str, *, timeouts: dict[str, float | None] | None = None,
                 **content: Any) -> httpx.Request:
        """The request an httpx.Client would build: its headers, our timeouts, basic auth from
        the URL's user name and password if it has them."""
        request = httpx.Request(method, _parsed_url(url), headers=_client_headers(),
                                extensions={"timeout": timeouts or self._timeouts}, **content)
        if request.url.userinfo:
            request = next(httpx.BasicAuth(request.url.username, request.url.password).sync_auth_flow(request))
        return request

    def _send(self, request: httpx.Request) -> httpx.Response:
        """Send on this thread's connection and read the whole answer (they are small)."""
        response = self._http(request.url.scheme).handle_request(request)
        try:
            response.read()
        finally:
            response.close()
        return response

    def close(self) -> None:
        """Close every thread's connections."""
        with self._transports_lock:
            transports, self._transports = self._transports, []
        for transport in transports:
            transport.close()

    def __enter__(self) -> PhotonRanchClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- upload, step 1 -------------------------------------------------------------------

    def presign(
        self, object_name: str, s3_directory: str = S3_DIRECTORY, info_channel: int | None = None
    ) -> dict[str, Any]:
        """`POST {API}/upload`: the presigned POST (`url` and `fields`) for one object."""
        key = f"{s3_directory}/{object_name}"
        body: dict[str, object] = {"object_name": object_name, "s3_directory": s3_directory}
        if info_channel is not None:
            body["info_channel"] = info_channel
        url = f"{self.api_url}/upload"
        with _deadline(request_deadline(self.timeout)), _translated(ApiError, key, "the API", url, self.timeout):
            response = self._send(self._request("POST", url, json=body))
        if response.status_code != httpx.codes.OK:
            raise ApiError(
                f"{key}: the API refused to presign: {response.status_code}: {_text(response)}",
                key=key,
                status=response.status_code,
                retryable=_retryable_status(response.status_code),
            )
        try:
            presigned = response.json()
        except ValueError:
            presigned = None
        ok = isinstance(presigned, dict) and isinstance(presigned.get("url"), str)
        if not ok or not isinstance(presigned.get("fields"), dict):
            raise ApiError(
                f"{key}: the API answered 200 without a presigned POST (url and fields): "
                f"{_text(response)}",
                key=key,
                status=response.status_code,
            )
        return presigned

    # -- upload, step 2 -------------------------------------------------------------------

    def post_file(self, presigned: dict[str, Any], source: Source, filename: str) -> float:
        """Multipart POST of every presigned field, then the file as `file`; seconds taken.

        A file on disk is streamed in chunks by httpx, never read whole. Success is 204 only.
        """
        fields = {str(name): str(value) for name, value in presigned["fields"].items()}
        key = fields.get("key", filename)
        url = presigned["url"]
        size = source_size(source, key)
        read_timeout = self.timeout + size / self.min_throughput
        with _opened(source, key) as body:
            started = time.perf_counter()
            with (
                _deadline(request_deadline(self.timeout, size, self.min_throughput)),
                _translated(StorageError, key, "S3", url, read_timeout),
            ):
                request = self._request("POST", url, timeouts={**self._timeouts, "read": read_timeout},
                                        data=fields, files={"file": (filename, body)})
                request.stream = _Coalesced(request.stream)
                response = self._send(request)
            seconds = time.perf_counter() - started
        if response.status_code != httpx.codes.NO_CONTENT:
            raise _storage_error(key, response)
        return seconds

    # -- reads ----------------------------------------------------------------------------

    def latest_images(self, site: str, n: int) -> list[dict[str, Any]]:
        """`GET {API}/{site}/latest_images/{n}`, newest first; an unknown site gives []."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise UsageError(f"number of latest images {n!r} is not allowed: use 1 or more")
        return self._get_list(f"{self.api_url}/{check_site(site)}/latest_images/{n}")

    def recent_uploads(self, site: str) -> list[dict[str, Any]]:
        """`GET {API}/recentuploads?site=…`: the files the service received lately."""
        return self._get_list(f"{self.api_url}/recentuploads", params={"site": check_site(site)})

    def highest_file_number(self, site: str, inst: str) -> int | None:
        """The highest file number the service knows for this camera, or None.

        Lets a machine with a fresh counter start after what other machines already sent.
        """
        pattern = _number_pattern(check_site(site), check_inst(inst))
        names = [row.get("base_filename") for row in self.latest_images(site, DEFAULT_LATEST_IMAGES)]
        names += [row.get("filename") for row in self.recent_uploads(site)]
        numbers = [
            int(match.group(1))
            for name in names
            if isinstance(name, str) and (match := pattern.search(name))
        ]
        return max(numbers, default=None)

    def newest_exposure_end(self, site: str) -> dt.datetime | None:
        """When the newest exposure the service lists for `site` ended (DATE-OBS + exposure time),
        or None when it lists none: a new run's clock starts after it, so runs never interleave.

        The newest by DATE-OBS is the first row (the API sorts by it); one row costs ~2 ms where
        a hundred cost ~40 ms of a run's start-up (local site, measured)."""
        ends = []
        for row in self.latest_images(site, 1):
            start_ms, exptime = row.get("capture_date"), row.get("exposure_time")
            if isinstance(start_ms, int | float) and math.isfinite(start_ms):
                seconds = exptime if isinstance(exptime, int | float) and math.isfinite(exptime) else 0.0
                ends.append(start_ms / 1000 + max(0.0, seconds))
        if not ends:
            return None
        try:
            return dt.datetime.fromtimestamp(max(ends), dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None

    def reserve_numbers(self, site: str, inst: str, count: int, after: int) -> range | None:
        """`POST {API}/numbers/reserve`: a block of file numbers the site hands to nobody else.

        Only the local site offers it; the real API answers an unknown route 403 ("Missing
        Authentication Token", API Gateway) or 404, and then this is None and the caller keeps
        its own counter. Any other refusal is an error: a site that has the service and refuses
        must not be talked past.
        """
        url = f"{self.api_url}/numbers/reserve"
        body = {"site": check_site(site), "inst": check_inst(inst), "count": count, "after": after}
        with _deadline(request_deadline(self.timeout)), _translated(ApiError, url, "the API", url, self.timeout):
            response = self._send(self._request("POST", url, json=body))
        if response.status_code in NO_RESERVATION_SERVICE:
            return None
        _refuse_unless_ok(url, response)
        try:
            answer = response.json()
            numbers = range(int(answer["start"]), int(answer["stop"]))
        except (ValueError, KeyError, TypeError):
            raise ApiError(f"{url}: the API answered without a block of numbers: {_text(response)}") from None
        return numbers

    def _get_list(self, url: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        with _deadline(request_deadline(self.timeout)), _translated(ApiError, url, "the API", url, self.timeout):
            response = self._send(self._request("GET", url, params=params))
        if response.status_code == httpx.codes.NOT_FOUND:
            return []
        _refuse_unless_ok(url, response)
        try:
            rows = response.json()
        except ValueError:
            rows = None
        if not isinstance(rows, list):
            raise ApiError(f"{url}: the API answered without a JSON list: {_text(response)}")
        return [row for row in rows if isinstance(row, dict)]


@functools.cache
def _client_headers() -> httpx.Headers:
    """The headers an httpx.Client with our User-Agent puts on every request (Accept,
    Accept-Encoding for the decoders httpx has here, Connection, User-Agent), asked of httpx once
    (a Client given a transport makes no connection pool or TLS context of its own)."""
    return httpx.Client(headers={"User-Agent": USER_AGENT}, transport=httpx.BaseTransport()).headers


@functools.lru_cache(maxsize=64)
def _parsed_url(url: str) -> httpx.URL:
    """httpx.URL of a URL sent to again and again (the API's routes, the S3 bucket every presigned
    POST names): parsing one took a tenth of a request's CPU. URLs are immutable, so threads share them."""
    return httpx.URL(url)


def _refuse_unless_ok(url: str, response: httpx.Response) -> None:
    """Any answer but 200 from a read of the API, as one ApiError with the server's own text."""
    if response.status_code != httpx.codes.OK:
        raise ApiError(
            f"{url}: the API answered {response.status_code}: {_text(response)}",
            status=response.status_code,
            retryable=_retryable_status(response.status_code),
        )


NO_RESERVATION_SERVICE = (
    httpx.codes.FORBIDDEN, httpx.codes.NOT_FOUND, httpx.codes.METHOD_NOT_ALLOWED
)
"""How an API without `/numbers/reserve` answers it (API Gateway says 403 for unknown routes)."""


def request_deadline(timeout: float, size: int = 0, min_throughput: float = DEFAULT_MIN_THROUGHPUT) -> float:
    """Seconds one request may take in all: `DEADLINE_TIMEOUTS` x --timeout, plus time for a body
    of `size` bytes at `DEFAULT_MIN_UPLOAD_RATE` and for S3 to store it at `min_throughput`.

    With --timeout 5, a 100 kB preview gets 16 s, a 30 MB FITS 345 s (at the default 30 s: 45 s
    and 420 s): far more than a healthy upload needs, far less than a drip takes.
    """
    return DEADLINE_TIMEOUTS * timeout + size / DEFAULT_MIN_UPLOAD_RATE + size / min_throughput


class _Deadline(threading.local):
    """The monotonic time the current request of this thread must be over by (None: no limit)."""

    at: float | None = None
    seconds: float = 0.0


_DEADLINE = _Deadline()


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Bound the requests made inside this block, in this thread, to `seconds` in all (outside
    `_translated`, which reads it to say a timeout was the deadline's)."""
    _DEADLINE.at, _DEADLINE.seconds = time.monotonic() + seconds, seconds
    try:
        yield
    finally:
        _DEADLINE.at = None


def _deadline_passed() -> bool:
    return _DEADLINE.at is not None and time.monotonic() >= _DEADLINE.at


def _time_left(timeout: float | None, expired: type[httpcore.TimeoutException]) -> float | None:
    """`timeout`, or less when this thread's deadline is nearer; raise `expired` once it passed."""
    if _DEADLINE.at is None:
        return timeout
    left = _DEADLINE.at - time.monotonic()
    if left <= 0:
        raise expired(f"the request took longer than its deadline of {_DEADLINE.seconds:g} s")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the current request's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, _time_left(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend, handing out `_DeadlineStream`s."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(host, port, _time_left(timeout, httpcore.ConnectTimeout),
                                           local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(path, _time_left(timeout, httpcore.ConnectTimeout),
                                                   socket_options)
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


_TLS_CONTEXT_LOCK = threading.Lock()
"""Upload threads meet their first https URL together; `functools.cache` alone would let each
load the CA bundle at once."""


def _tls_context() -> ssl.SSLContext:
    with _TLS_CONTEXT_LOCK:
        return _shared_tls_context()


@functools.cache
def _shared_tls_context() -> ssl.SSLContext:
    """One TLS context per process, shared by every thread's https transport.

    httpx builds a context for each transport by default, loading certifi's whole CA bundle
    (~20 ms of CPU) each time: eight upload threads paid 0.2 s of a run's start-up for it, even
    against a plain-http site (which now never loads it at all). An SSLContext is safe to share
    between client connections; this one is exactly what httpx would make for each
    (`httpx.create_ssl_context()`, verifying).
    """
    return httpx.create_ssl_context()


def _no_tls_context() -> ssl.SSLContext:
    """The context of a transport that only ever carries plain http: it makes no TLS connection,
    and if it ever did it would verify against an empty trust store, failing closed, never open."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _deadline_transport(*, tls: bool = True) -> httpx.HTTPTransport:
    """httpx's own transport, its connections made by `_DeadlineBackend`.

    httpx offers no way in for a network backend, so this sets the attribute its connection pool
    reads (httpcore 1.x); a test sends to a dripping server, so a change there cannot go unseen.
    """
    transport = httpx.HTTPTransport(verify=_tls_context() if tls else _no_tls_context())
    pool = transport._pool
    pool._network_backend = _DeadlineBackend(pool._network_backend)
    return transport


class _Coalesced(httpx.SyncByteStream):
    """A request body whose pieces are joined into writes of at least `size` bytes.

    httpx's multipart encoder yields every boundary, part header and field value on its own:
    some 30 pieces of a few bytes each for a presigned POST, and each one cost a trip through
    h11 and httpcore, a `send()` and, with Nagle off, a TCP segment for S3 to read. Joined, a
    typical preview or FITS file goes out in a handful of writes; a large file still streams.
    """

    def __init__(self, stream: httpx.SyncByteStream, size: int = WRITE_SIZE) -> None:
        self._stream = stream
        self._size = size

    def __iter__(self) -> Iterator[bytes]:
        pending: list[bytes] = []
        held = 0
        for piece in self._stream:
            pending.append(piece)
            held += len(piece)
            if held >= self._size:
                yield b"".join(pending)
                pending.clear()
                held = 0
        if pending:
            yield b"".join(pending)

    def close(self) -> None:
        self._stream.close()


class Uploader:
    """Sends files with retries; see the module docstring for what is retried."""

    def __init__(
        self,
        api_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff_base: float = DEFAULT_BACKOFF_BASE,
        backoff_cap: float = DEFAULT_BACKOFF_CAP,
        presign_max_age: float = DEFAULT_PRESIGN_MAX_AGE,
        min_throughput: float = DEFAULT_MIN_THROUGHPUT,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        transport: httpx.BaseTransport | None = None,
        client: PhotonRanchClient | None = None,
        on_retry: Callable[[UploadError], None] | None = None,
    ) -> None:
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise UsageError(f"retries {retries!r} is not allowed: use 0 or more")
        _check_positive("backoff base", backoff_base, allow_zero=True)
        _check_positive("backoff cap", backoff_cap, allow_zero=True)
        _check_positive("presign maximum age", presign_max_age)
        self._owns_client = client is None
        self.client = client or PhotonRanchClient(
            api_url,
            timeout=timeout,
            min_throughput=min_throughput,
            transport=transport,
        )
        self.retries = retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.presign_max_age = presign_max_age
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._on_retry = on_retry

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> Uploader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(
        self,
        source: Source,
        object_name: str,
        s3_directory: str = S3_DIRECTORY,
        info_channel: int | None = None,
    ) -> UploadResult:
        """Presign and POST one file; raise the last ApiError / StorageError when it cannot."""
        key = f"{s3_directory}/{object_name}"
        size = source_size(source, key)
        api, s3 = _Stopwatch(), _Stopwatch()
        presigned: dict[str, Any] | None = None
        presigned_at = 0.0
        attempt = 0
        while True:
            attempt += 1
            try:
                if presigned is None or time.monotonic() - presigned_at > self.presign_max_age:
                    with api.running():
                        presigned = self.client.presign(object_name, s3_directory, info_channel)
                    presigned_at = time.monotonic()
                    key = str(presigned["fields"].get("key", key))
                with s3.running():
                    self.client.post_file(presigned, source, object_name)
                status = int(httpx.codes.NO_CONTENT)
                return UploadResult(key, status, api.seconds, s3.seconds, attempt, size)
            except UploadError as exc:
                expired = is_policy_expired(exc)
                if expired:
                    presigned = None
                if not exc.retryable:
                    raise
                if attempt > self.retries:
                    raise _gave_up(exc, attempt) from exc
                if self._on_retry is not None:
                    self._on_retry(exc)
                if not expired:  # a stale policy is not the server asking us to slow down
                    self._sleep(self.backoff_delay(attempt))

    def backoff_delay(self, attempt: int) -> float:
        """Seconds to wait after failed try number `attempt` (1-based)."""
        return backoff_delay(attempt, base=self.backoff_base, cap=self.backoff_cap, rng=self._rng)


class _Stopwatch:
    """Adds up the time spent in one kind of request, failed tries included."""

    def __init__(self) -> None:
        self.seconds = 0.0

    @contextmanager
    def running(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - started


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Capped exponential backoff with "equal jitter": half fixed, half random.

    The fixed half keeps a struggling server from being hit again at once; the random half
    keeps parallel uploads that failed together from retrying together.
    """
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def is_policy_expired(error: UploadError) -> bool:
    """S3's answer to a presigned POST used after its 300 s: ask for a new one, then retry."""
    return isinstance(error, StorageError) and _says_policy_expired(error.status, str(error))


def _says_policy_expired(status: int | None, text: str) -> bool:
    return status == httpx.codes.FORBIDDEN and "policy expired" in text.lower()


def parse_s3_error(text: str) -> tuple[str | None, str | None]:
    """`(Code, Message)` from an S3 XML error document, or `(None, None)` if it is not one."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None, None
    code = root.findtext("Code") or root.findtext("{*}Code")
    message = root.findtext("Message") or root.findtext("{*}Message")
    return (code.strip() if code else None), (message.strip() if message else None)


def source_size(source: Source, key: str) -> int:
    """Bytes that will be sent; a file that cannot be read fails here, before any request."""
    if isinstance(source, bytes | bytearray | memoryview):
        return memoryview(source).nbytes
    try:
        return os.stat(source).st_size
    except OSError as exc:
        raise UploadError(
            f"{key}: cannot read {os.fspath(source)}: {exc.strerror or exc}", key=key
        ) from exc


@contextmanager
def _opened(source: Source, key: str) -> Iterator[IO[bytes]]:
    if isinstance(source, bytes | bytearray | memoryview):
        yield io.BytesIO(source)
        return
    try:
        f = Path(source).open("rb")  # noqa: SIM115 -- closed below, after the request
    except OSError as exc:
        raise UploadError(
            f"{key}: cannot read {os.fspath(source)}: {exc.strerror or exc}", key=key
        ) from exc
    with f:
        yield f


@contextmanager
def _translated(
    error: type[UploadError], key: str, who: str, url: str, timeout: float
) -> Iterator[None]:
    """httpx's exceptions -> ours, once; whether a retry can help decides `retryable`."""
    try:
        yield
    except httpx.TimeoutException as exc:
        if _deadline_passed():
            message = (f"{key}: {who} did not answer within {timeout:g} s (kept busy but too slow: "
                       f"over the {_DEADLINE.seconds:g} s deadline of the whole request)")
        else:
            message = f"{key}: {who} did not answer within {timeout:g} s ({type(exc).__name__})"
        raise error(message, key=key, retryable=True) from exc
    except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
        raise error(
            f"{key}: lost the connection to {who} at {url}: {exc or type(exc).__name__}",
            key=key,
            retryable=True,
        ) from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise error(f"{key}: cannot send to {who} at {url}: {exc}", key=key) from exc


def _storage_error(key: str, response: httpx.Response) -> StorageError:
    code, message = parse_s3_error(response.text)
    status = response.status_code
    if code:
        detail = f"{status} {code}: {_one_line(message)}" if message else f"{status} {code}"
    else:
        detail = f"{status}: {_text(response)}"
    retryable = (
        _retryable_status(status)
        or code in RETRYABLE_S3_CODES
        or _says_policy_expired(status, message or "")
    )
    return StorageError(
        f"{key}: S3 refused the upload: {detail}",
        key=key,
        status=status,
        code=code,
        retryable=retryable,
    )


def _gave_up(exc: UploadError, attempts: int) -> UploadError:
    return type(exc)(
        f"{exc} (gave up after {attempts} tries)",
        key=exc.key,
        status=exc.status,
        code=exc.code,
        retryable=exc.retryable,
    )


def _retryable_status(status: int) -> bool:
    return status >= httpx.codes.INTERNAL_SERVER_ERROR or status in RETRYABLE_STATUSES


def _text(response: httpx.Response) -> str:
    """The server's own words, on one line; the reason phrase when it sent none."""
    return _one_line(response.text) or response.reason_phrase or "(no text)"


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) > MAX_ERROR_TEXT:
        return flat[: MAX_ERROR_TEXT - 1] + "…"
    return flat


def _number_pattern(site: str, inst: str) -> re.Pattern[str]:
    """Matches a base filename or `dir/file name` of this camera; group 1 is the file number."""
    return re.compile(rf"(?:^|/){re.escape(site)}-{re.escape(inst)}-\d{{8}}-(\d{{8}})(?:-|$)")


def _check_positive(what: str, value: float, *, allow_zero: bool = False) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not (value >= 0 if allow_zero else value > 0) or value == float("inf"):
        lowest = "0 or more" if allow_zero else "a number above 0"
        raise UsageError(f"{what} {value!r} is not allowed: use {lowest}")
