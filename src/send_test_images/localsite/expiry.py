"""Delete experimental (EP) and focus (EF) images when their time is up, as the real service does.

Ingestion stamps every object with its expiry (protocol §2: 300 s at site `tst`); this sweeper
checks every few seconds, deletes what is due from S3 and forgets its rows, so an expired image
leaves `latest_images` and `recentuploads` and its files are gone. The clock is injected, so a
test can jump 300 s ahead instead of waiting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from send_test_images.errors import InvalidName
from send_test_images.exposure import naming
from send_test_images.localsite.db import SiteDB
from send_test_images.localsite.periodic import Periodic
from send_test_images.localsite.rules import split_key

log = logging.getLogger(__name__)

DEFAULT_EXPIRY_CHECK_S = 5.0
"""How often to look for expired objects: small against the shortest lifetime (300 s)."""


class Expirer:
    """Runs `sweep()` every `interval` seconds on its own thread until stopped."""

    def __init__(
        self,
        db: SiteDB,
        s3: Any,
        bucket: str,
        *,
        clock: Callable[[], float] = time.time,
        interval: float = DEFAULT_EXPIRY_CHECK_S,
    ) -> None:
        self.db = db
        self.s3 = s3
        self.bucket = bucket
        self.clock = clock
        self.interval = interval
        self._rounds = Periodic("localsite-expiry", self.sweep, interval, self._failed)

    def start(self) -> None:
        self._rounds.start()

    def stop(self) -> None:
        self._rounds.stop()

    def _failed(self, exc: Exception) -> None:
        log.error("expiry sweep failed; trying again in %g s", self.interval, exc_info=exc)

    def sweep(self) -> list[str]:
        """Delete every object whose expiry has passed; returns their keys."""
        deleted = []
        for record in self.db.expired_objects(self.clock()):
            try:
                self.s3.delete_object(Bucket=self.bucket, Key=record.key)
            except (ClientError, BotoCoreError) as exc:
                log.warning("could not delete expired %s: %s", record.key, exc)
                continue
            self._forget_image(record.key)
            self.db.forget_object(record.key)
            deleted.append(record.key)
        return deleted

    def _forget_image(self, key: str) -> None:
        place = split_key(key)
        if place is None:
            return
        directory, bare = place
        try:
            name = naming.parse(bare)
        except InvalidName:
            return
        self.db.delete_image(name.base, directory)
