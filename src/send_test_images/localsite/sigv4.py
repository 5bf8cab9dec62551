"""AWS Signature Version 4, as botocore signs: the site's own S3 GET and PUT, and presigned POSTs.

Ingestion makes three signed requests per exposure and the API five presigned POSTs. botocore's
`S3SigV4Auth.add_auth` spends ~80 us on each (an `AWSRequest`, header maps, URL splitting and
four HMACs for a signing key that changes once a day), and `S3PostPresigner` ~50 us on each POST
policy; this is the same algorithm for the shapes we use: a path-style URL with no query string,
the payload's SHA-256 signed, every header signed; a POST policy of the caller's conditions. The
day's signing key is kept. `tests/localsite/test_sigv4.py` checks the headers against botocore's
and `test_s3direct.py` the POSTs against boto3's, byte for byte, and weed checks every
signature.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
EXPIRATION_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
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

    def post_fields(
        self, key: str, conditions: list[Any], expires_in: int, now: dt.datetime
    ) -> dict[str, str]:
        """The form fields of a presigned POST for `key`, as boto3's `generate_presigned_post`
        makes them: `conditions` (bucket and key included) plus the signer's own, in its order."""
        timestamp = now.strftime(TIMESTAMP_FORMAT)
        datestamp = timestamp[:8]
        credential = f"{self.access_key}/{datestamp}/{self.region}/{self.service}/{TERMINATOR}"
        policy = {
            "expiration": (now + dt.timedelta(seconds=expires_in)).strftime(EXPIRATION_FORMAT),
            "conditions": [
                *conditions,
                {"x-amz-algorithm": ALGORITHM},
                {"x-amz-credential": credential},
                {"x-amz-date": timestamp},
            ],
        }
        encoded = base64.b64encode(json.dumps(policy).encode("utf-8")).decode("utf-8")
        signature = hmac.new(self.signing_key(datestamp), encoded.encode("utf-8"), hashlib.sha256).hexdigest()
        return {
            "key": key,
            "x-amz-algorithm": ALGORITHM,
            "x-amz-credential": credential,
            "x-amz-date": timestamp,
            "policy": encoded,
            "x-amz-signature": signature,
        }
