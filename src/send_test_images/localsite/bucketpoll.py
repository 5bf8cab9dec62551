"""Hear about landed objects by listing the bucket: the watcher for an external S3.

The embedded weed streams its filer's changes (watch.py); an external S3 (MinIO, a SeaweedFS
cluster, AWS itself) offers nothing that every one of them speaks except listing. So the bucket
is listed every `interval` seconds and each object that is new, or whose ETag changed since the
last listing, is handed on. What was handed on is remembered in memory only: after a restart the
first listing hands on everything, and ingestion (idempotent, it compares ETags with its
database) skips what it already has, as the embedded site's reconcile does.

The cost is one LIST per second per 1000 objects, and an object is ingested up to `interval`
later than with weed's stream.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from send_test_images.localsite.periodic import Periodic
from send_test_images.localsite.watch import ObjectEvent

log = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL_S = 1.0


class BucketPoller:
    """List `bucket` with the boto3 client `s3` every `interval` s; call `on_object` per change."""

    def __init__(
        self, s3: Any, bucket: str, on_object: Callable[[ObjectEvent], None],
        interval: float = DEFAULT_POLL_INTERVAL_S,
    ) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.on_object = on_object
        self.interval = interval
        self._seen: dict[str, str] = {}
        self._rounds = Periodic("localsite-poll", self.poll, interval, self._failed)

    def poll(self) -> int:
        """One listing; how many objects were handed on. Objects deleted since are forgotten."""
        listed: dict[str, str] = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for item in page.get("Contents", []):
                listed[item["Key"]] = item["ETag"].strip('"')
        changed = [key for key, etag in listed.items() if self._seen.get(key) != etag]
        for key in changed:
            self.on_object(ObjectEvent(key=key, etag=listed[key]))
        self._seen = listed
        return len(changed)

    def start(self) -> None:
        """Poll on a thread of its own from now on (the first listing at once)."""
        self._rounds.start()

    def _failed(self, exc: Exception) -> None:  # S3 away for a moment: the next listing catches up
        log.warning("could not list the bucket %s (%s); will retry", self.bucket, exc)

    def stop(self) -> None:
        self._rounds.stop()
