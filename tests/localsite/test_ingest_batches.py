"""Files that arrive together are ingested together: headers first, in one transaction.

A FITS ingested before its `.txt` makes ingestion read the FITS's own header back from S3, only
for the `.txt` to replace it; when the `.txt` is already waiting, it goes first and the FITS is
never read. The rows come out as they would in arrival order. Real weed on loopback (the
session's site, in a bucket of this module's own, so the site's watcher never sees it) and a
real SQLite file; only which keys ingestion reads is recorded.
"""

from __future__ import annotations

import bz2
import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from astropy.io import fits
from botocore.config import Config

from send_test_images.localsite import LocalSite
from send_test_images.localsite.db import SiteDB
from send_test_images.localsite.ingest import Ingestor, headers_first
from send_test_images.localsite.s3direct import DirectS3
from send_test_images.localsite.s3server import DEFAULT_REGION
from send_test_images.localsite.watch import ObjectEvent

from localsite_fixtures import local_site, make_header_text, make_jpg  # noqa: F401 (a fixture)

BUCKET = "ingest-batches"
DATE_OBS = "2026-11-30T05:06:07.500"
READ_WAIT_S = 5.0
IDLE_WAIT_S = 30.0


def event(key: str) -> ObjectEvent:
    return ObjectEvent(key)


def test_a_header_takes_the_place_of_the_first_fits_of_its_exposure_that_arrived_before_it() -> None:
    arrived = [
        "data/a-1-EX10.jpg", "data/a-1-EX00.fits.fz", "data/b-1-EX00.fits.fz", "data/a-1-EX10.fits.fz",
        "data/b-1-EX00.txt", "data/a-1-EX00.txt", "info-images/c-1-EX00.fits.fz", "info-images/c-1-EX00.txt",
        "data/a-1-EX00.txt", "data/d-1-EX00.txt", "data/d-1-EX00.fits.fz",
    ]
    ordered = [e.key for e in headers_first([event(key) for key in arrived])]
    assert ordered == [
        "data/a-1-EX10.jpg", "data/a-1-EX00.txt", "data/a-1-EX00.fits.fz", "data/b-1-EX00.txt",
        "data/b-1-EX00.fits.fz", "data/a-1-EX10.fits.fz", "info-images/c-1-EX00.fits.fz",
        "info-images/c-1-EX00.txt", "data/a-1-EX00.txt", "data/d-1-EX00.txt", "data/d-1-EX00.fits.fz",
    ]


# --- through a real S3 and a real database ---------------------------------------------------------


class RecordingS3(DirectS3):
    """The site's own S3 client, remembering which keys ingestion read (and running `on_read`
    first, so a test can look at the database at that moment)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read: list[str] = []
        self.on_read: Any = None

    def get(self, key: str, max_bytes: int | None = None) -> bytes:
        self.read.append(key)
        if self.on_read is not None:
            self.on_read(key)
        return super().get(key, max_bytes=max_bytes)


def _site_keys(site: LocalSite) -> tuple[str, str]:
    keys = json.loads((site.data_dir / "s3.json").read_text())["identities"][0]["credentials"][0]
    return keys["accessKey"], keys["secretKey"]


@pytest.fixture
def s3(local_site: LocalSite) -> Iterator[RecordingS3]:  # noqa: F811 (the fixture)
    access, secret = _site_keys(local_site)
    client = boto3.client(
        "s3", endpoint_url=local_site.s3_url, aws_access_key_id=access, aws_secret_access_key=secret,
        region_name=DEFAULT_REGION, config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    if BUCKET not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket=BUCKET)
    with RecordingS3(local_site.s3_url, BUCKET, access, secret, DEFAULT_REGION) as direct:
        direct.boto = client  # type: ignore[attr-defined]
        yield direct


def _header(exptime: float) -> bytes:
    return make_header_text(DATE_OBS=DATE_OBS, CRVAL1=210.75, CRVAL2=12.5, EXPTIME=exptime, FILTER="R")


def _fits_bz2(exptime: float) -> bytes:
    parsed = fits.Header.fromstring(_header(exptime).decode("ascii"))
    out = io.BytesIO()
    fits.PrimaryHDU(np.zeros((8, 8), dtype=np.uint16), parsed).writeto(out)
    return bz2.compress(out.getvalue())


def _store(s3: RecordingS3, key: str, data: bytes) -> ObjectEvent:
    """Put `data` in the bucket; the event the watcher would hear for it, fresh."""
    s3.put(key, data, "application/octet-stream")
    answer = s3.boto.head_object(Bucket=BUCKET, Key=key)  # type: ignore[attr-defined]
    return ObjectEvent(key, answer["ETag"].strip('"'), int(answer["ContentLength"]), time.time())


def _ingest_together(s3: RecordingS3, db_path: Path, events: list[ObjectEvent]) -> SiteDB:
    """Hand `events` to a stopped Ingestor, all at once, then let it work."""
    db = SiteDB(db_path)
    ingestor = Ingestor(db, s3.boto, s3)  # type: ignore[attr-defined]
    for landed in events:
        ingestor.submit(landed)
    s3.read.clear()
    ingestor.start()
    try:
        assert ingestor.wait_idle(IDLE_WAIT_S)
    finally:
        ingestor.stop()
    return db


def test_a_fits_arriving_with_its_header_is_not_read_back(s3: RecordingS3, tmp_path: Path) -> None:
    base = "bat-sq768-20261130-00000001"
    fits_event = _store(s3, f"data/{base}-EX10.fits.bz2", _fits_bz2(exptime=10.0))
    txt_event = _store(s3, f"data/{base}-EX00.txt", _header(exptime=30.0))
    db = _ingest_together(s3, tmp_path / "site.sqlite3", [fits_event, txt_event])
    try:
        assert s3.read == [txt_event.key]
        row = db.image(base, "data")
        assert row is not None and row["exposure_time"] == 30.0 and row["fits_10_exists"] == 1
        assert db.object_etag(fits_event.key) == fits_event.etag
    finally:
        db.close()


def test_a_header_that_fails_still_leaves_the_fits_header(s3: RecordingS3, tmp_path: Path) -> None:
    """The real service fails on a card that is not UTF-8; the FITS's own header then stands,
    as when the FITS was ingested first."""
    base = "bat-sq768-20261130-00000002"
    fits_event = _store(s3, f"data/{base}-EX10.fits.bz2", _fits_bz2(exptime=10.0))
    txt_event = _store(s3, f"data/{base}-EX00.txt", b"\xff" * 80)
    db = _ingest_together(s3, tmp_path / "site.sqlite3", [fits_event, txt_event])
    try:
        assert s3.read == [txt_event.key, fits_event.key]
        row = db.image(base, "data")
        assert row is not None and row["exposure_time"] == 10.0
    finally:
        db.close()


def test_a_10_jpg_row_is_committed_before_its_thumbnail_is_made(s3: RecordingS3, tmp_path: Path) -> None:
    """Batched writes are committed before ingestion reads from S3, so the page lists the image
    while its thumbnail is still being made, and no reader waits on that work."""
    bases = [f"bat-sq768-20261130-0000001{n}" for n in range(3)]
    events = [_store(s3, f"data/{base}-EX10.jpg", make_jpg()) for base in bases]
    db_path = tmp_path / "site.sqlite3"
    seen: dict[str, bool] = {}

    def look(key: str) -> None:
        found: list[bool] = []
        reader = threading.Thread(target=lambda: found.append(db.image(key[5:].rsplit("-", 1)[0]) is not None))
        reader.start()
        reader.join(READ_WAIT_S)
        seen[key] = found == [True]

    db = SiteDB(db_path)
    s3.on_read = look
    try:
        ingestor = Ingestor(db, s3.boto, s3)  # type: ignore[attr-defined]
        for landed in events:
            ingestor.submit(landed)
        ingestor.start()
        try:
            assert ingestor.wait_idle(IDLE_WAIT_S)
        finally:
            ingestor.stop()
        assert seen == {e.key: True for e in events}
        assert all(db.image(base, "data")["jpg_small_exists"] == 1 for base in bases)  # type: ignore[index]
    finally:
        s3.on_read = None
        db.close()


STOPPER_START_S = 0.5
"""Time given to a thread calling `stop()` to raise the flag (it then waits for the worker)."""


def test_stop_ends_ingestion_after_the_file_at_hand(s3: RecordingS3, tmp_path: Path) -> None:
    """Files taken together are not all ingested before a stop is heard; the rest wait for the
    next start (its reconcile lists the bucket)."""
    bases = [f"bat-sq768-20261130-0000002{n}" for n in range(4)]
    events = [_store(s3, f"data/{base}-EX10.jpg", make_jpg()) for base in bases]
    db = SiteDB(tmp_path / "site.sqlite3")
    ingestor = Ingestor(db, s3.boto, s3)  # type: ignore[attr-defined]
    stopper = threading.Thread(target=ingestor.stop)

    def stop_once(key: str) -> None:
        if not stopper.is_alive() and s3.on_read is not None:
            s3.on_read = None
            stopper.start()
            stopper.join(STOPPER_START_S)

    s3.on_read = stop_once
    try:
        for landed in events:
            ingestor.submit(landed)
        ingestor.start()
        waited = time.monotonic()
        while stopper.ident is None and time.monotonic() - waited < IDLE_WAIT_S:  # not started yet
            time.sleep(0.01)
        stopper.join(IDLE_WAIT_S)
        assert not stopper.is_alive()
        assert [db.image(base, "data") is not None for base in bases] == [True, False, False, False]
    finally:
        s3.on_read = None
        db.close()
