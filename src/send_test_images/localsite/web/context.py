"""What every route needs, in one object: the database, S3 clients for weed, limits and the clock.

`make_app` puts it on `app.state`, so handlers are plain module-level functions that find it
through the request (`context_of`) instead of closing over it; a test can build an app around
any context.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import HTTPConnection

from send_test_images.localsite.db import SiteDB
from send_test_images.localsite.s3direct import DirectS3
from send_test_images.localsite.stream import DataStream
from send_test_images.localsite.web.limits import DEFAULT_MAX_BODY_BYTES

PRESIGN_EXPIRES_S = 300
"""The real presigned POST policy expires after 300 s."""
DEFAULT_GET_EXPIRES_S = 604_800
"""A week, as the real `get_s3_file_url` signs its GET URLs (LCOGT/photonranch-api `api/helpers.py`)."""
DEFAULT_MAX_UPLOAD_BYTES = 1 << 30
"""The size limit written into every presigned POST (`content-length-range`), 1 GiB: far above
the largest file the project makes (a 4096x4096 16-bit frame is 32 MiB uncompressed). The real
service has no such limit; here it keeps a stray or hostile client from filling the disk."""


@dataclass
class ApiContext:
    """One running site's handles; shared by every request, so each part must be thread-safe."""

    db: SiteDB
    s3: Any
    direct: DirectS3
    bucket: str
    s3_url: str
    clock: Callable[[], float] = time.time
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    stream: DataStream | None = None
    """Where ingestion announces files; `/datastream` subscribers read it (None: no live news)."""
    s3_problem: Callable[[], str | None] = lambda: None
    """Why S3 cannot serve right now (one plain line), or None; asked by /health. The site
    passes `S3Server.problem`, which checks weed cheaply and caches the answer."""

    def presign_post(self, key: str) -> dict[str, Any]:
        """The real service's presigned POST for `key`, plus this site's size limit.

        Made by `direct` (botocore's signer without a boto3 call: five of these per exposure),
        the same dict boto3's `generate_presigned_post` gives.
        """
        return self.direct.presign_post(
            key, [["content-length-range", 0, self.max_upload_bytes]], PRESIGN_EXPIRES_S
        )

    def presign_get(self, key: str) -> str:
        """A GET URL for `key` that stays valid for a week, as the real service's do."""
        return self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=DEFAULT_GET_EXPIRES_S
        )


def context_of(request: HTTPConnection) -> ApiContext:
    """The context of the app that is answering `request` (an HTTP request or a websocket)."""
    ctx: ApiContext = request.app.state.ctx
    return ctx
