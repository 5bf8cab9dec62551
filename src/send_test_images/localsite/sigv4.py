"""AWS Signature Version 4 headers for the site's own S3 GET and PUT, as botocore signs them.

Ingestion makes three signed requests per exposure. botocore's `S3SigV4Auth.add_auth` spends
~80 us on each (an `AWSRequest`, header maps, URL splitting and four HMACs for a signing key
that changes once a day); this is the same algorithm for the one shape of request we send: a
path-style URL with no query string, the payload's SHA-256 signed, every header signed. The
day's signing key is kept. `tests/localsite/test_sigv4.py` checks the headers against
botocore's, byte for byte, and weed checks every signature we send.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
TERMINATOR = "aws4_request"
DEFAULT_PORTS = {"http": 80, "https": 443}


def host_header(url: str) -> str:
    """The Host header botocore signs for `url`: its host, with the port unless it is the scheme's own."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    if parts.port is not None and DEFAULT_PORTS.get(parts.scheme) == parts.port:
        netloc = netloc.rpartition(":")[0]
    return netloc


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


@dataclass
class SigV4Signer:
    """Signs requests for one access key, region and service; safe to share between threads."""

    access_key: str
    secret_key: str
    region: str
    service: str = "s3"
    _keys: dict[str, bytes] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def signing_key(self, datestamp: str) -> bytes:
        """The day's key (four HMACs), made once per day and kept."""
        with self._lock:
            key = self._keys.get(datestamp)
            if key is None:
                key = _hmac(("AWS4" + self.secret_key).encode("utf-8"), datestamp)
                for part in (self.region, self.service, TERMINATOR):
                    key = _hmac(key, part)
                self._keys = {datestamp: key}
            return key

    def headers(
        self, method: str, host: str, path: str, body: bytes, headers: dict[str, str], now: dt.datetime
    ) -> dict[str, str]:
        """`headers` plus X-Amz-Date, X-Amz-Content-SHA256 and Authorization for this request.

        `path` is sent as given (already quoted; S3 paths are not normalised); `host` is the Host
        header the request carries; `now` is UTC.
        """
        timestamp = now.strftime(TIMESTAMP_FORMAT)
        datestamp = timestamp[:8]
        payload = hashlib.sha256(body).hexdigest()
        signed = {name.lower(): " ".join(value.split()) for name, value in headers.items()}
        signed.update({"host": host, "x-amz-content-sha256": payload, "x-amz-date": timestamp})
        names = sorted(signed)
        signed_headers = ";".join(names)
        canonical = "\n".join(
            [method, path, "", *(f"{name}:{signed[name]}" for name in names), "", signed_headers, payload]
        )
        scope = f"{datestamp}/{self.region}/{self.service}/{TERMINATOR}"
        string_to_sign = "\n".join(
            [ALGORITHM, timestamp, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
        )
        signature = hmac.new(
            self.signing_key(datestamp), string_to_sign.encode("utf-8"), hashlib.sha256
        ).hexdigest()
        return {
            **headers,
            "X-Amz-Date": timestamp,
            "X-Amz-Content-SHA256": payload,
            "Authorization": (
                f"{ALGORITHM} Credential={self.access_key}/{scope}, "
                f"SignedHeaders={signed_headers}, Signature={signature}"
            ),
        }
