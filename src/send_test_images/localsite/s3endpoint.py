"""An S3 that someone else runs (a SeaweedFS or MinIO cluster), in place of the embedded weed.

`serve --s3-endpoint URL` stores uploads there: the presigned POSTs point at it, ingestion and
expiry read and delete there. The site neither starts nor stops it, so "S3 is gone" is never a
reason to stop `serve` here (the external one may come back); /health answers 503 while it does
not answer, as with weed. Credentials come from the usual AWS variables, never the command
line, where every user of the machine could read them.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from send_test_images.errors import LocalSiteError
from send_test_images.localsite.s3server import (
    DEFAULT_BUCKET,
    DEFAULT_REGION,
    HEALTH_CACHE_S,
    S3Credentials,
    ensure_bucket,
    http_get_root_fails,
    s3_client,
)

ACCESS_KEY_ENV = "AWS_ACCESS_KEY_ID"
SECRET_KEY_ENV = "AWS_SECRET_ACCESS_KEY"
REGION_ENVS = ("AWS_REGION", "AWS_DEFAULT_REGION")


@dataclass(frozen=True)
class S3Endpoint:
    """Where an external S3 answers, its bucket, region and the keys the site signs with."""

    url: str
    bucket: str = DEFAULT_BUCKET
    region: str = DEFAULT_REGION
    credentials: S3Credentials | None = None


def endpoint_url_problem(url: str) -> str | None:
    """Why `url` cannot be an S3 endpoint (one sentence), or None: http(s)://HOST[:PORT], no path."""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = None, False
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or not port_ok \
            or parts.path.strip("/") or parts.query or parts.fragment:
        return f"S3 endpoint {url!r} is not allowed: use http://HOST:PORT or https://HOST"
    return None


def endpoint_from_env(url: str, bucket: str, env: Mapping[str, str] = os.environ) -> S3Endpoint:
    """The endpoint with the keys and region from the AWS variables; one line if a key is missing."""
    access, secret = env.get(ACCESS_KEY_ENV), env.get(SECRET_KEY_ENV)
    if not access or not secret:
        raise LocalSiteError(
            f"S3 endpoint {url!r} is not allowed without keys: use {ACCESS_KEY_ENV} and {SECRET_KEY_ENV} "
            "(environment variables) for a key pair that may write its bucket"
        )
    region = next((env[name] for name in REGION_ENVS if env.get(name)), DEFAULT_REGION)
    return S3Endpoint(url.rstrip("/"), bucket, region, S3Credentials(access, secret))


class ExternalS3:
    """The site's handle on an external S3: what `S3Server` offers the site, minus the process."""

    pid = None
    ports = None

    def __init__(self, endpoint: S3Endpoint) -> None:
        if endpoint.credentials is None:
            raise LocalSiteError(f"no keys for the S3 endpoint {endpoint.url}")
        self.endpoint = endpoint
        self.url = endpoint.url
        self.bucket = endpoint.bucket
        self.region = endpoint.region
        self.credentials = endpoint.credentials
        self.start_seconds: float | None = None
        self._checked: tuple[float, str | None] | None = None
        self._check_lock = threading.Lock()

    def start(self) -> ExternalS3:
        """Check it answers and that its bucket exists (made if missing), or say why not."""
        started = time.monotonic()
        problem = self._probe()
        if problem is not None:
            raise LocalSiteError(f"{problem}: start it, or check --s3-endpoint")
        ensure_bucket(self.client(), self.url, self.bucket)
        self.start_seconds = time.monotonic() - started
        return self

    def client(self) -> Any:
        return s3_client(self.url, self.credentials, self.region)

    def problem(self) -> str | None:
        """Why the endpoint cannot serve right now, as one line; None when it answers (cached
        for `HEALTH_CACHE_S`, as weed's check)."""
        with self._check_lock:
            now = time.monotonic()
            if self._checked is None or now - self._checked[0] >= HEALTH_CACHE_S:
                self._checked = (now, self._probe())
            return self._checked[1]

    def exit_problem(self) -> str | None:
        """Never: no process of ours can exit; an outage is `problem`'s to report."""
        return None

    def _probe(self) -> str | None:
        """One anonymous `GET /`: any HTTP answer (403 included) means the endpoint is up."""
        parts = urlsplit(self.url)
        failure = http_get_root_fails(parts.scheme, parts.hostname or "", parts.port)
        return None if failure is None else f"the S3 endpoint {self.url} does not answer ({failure})"

    def stop(self) -> None:
        """Nothing to stop: the endpoint is not ours."""
