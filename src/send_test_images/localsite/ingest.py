"""What happens when an object lands: Photon Ranch ingestion (protocol page §3), on its own thread.

Objects under `data/` and `info-images/` are ingested when their name parses; `allsky/` and
`test/` are stored only; a bad name is logged and dropped. Every object is recorded for
`recentuploads`. Files of one exposure may land in any order, so each file only sets its own
part of the merged row. Ingestion is idempotent (an object whose etag was already seen is
skipped), which lets the watcher replay history and the site reconcile by listing the bucket.
The rules themselves (which directory, which flag, when it expires) are in `rules.py`; this
module owns the queue, the S3 reads and the thumbnail work that applying them takes.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from PIL import Image

from send_test_images.errors import InvalidName, LocalSiteError
from send_test_images.exposure import naming
from send_test_images.localsite import fitsheader, headertext
from send_test_images.localsite.db import DatabaseUnavailable, ObjectRecord, SiteDB
from send_test_images.localsite.rules import (
    DEFAULT_S3_DIRECTORY as DATA_DIRECTORY,
)
from send_test_images.localsite.rules import (
    INFO_DIRECTORY,
    INGESTED_DIRECTORIES,
    S3_DIRECTORIES,
    THUMBNAIL_HEIGHT,
    THUMBNAIL_LEVEL,
    expire_timestamp,
    file_flag,
    header_values,
    makes_thumbnail,
    split_key,
)
from send_test_images.localsite.s3direct import DirectS3
from send_test_images.localsite.s3server import is_missing
from send_test_images.localsite.stream import DataStream
from send_test_images.localsite.watch import ObjectEvent

log = logging.getLogger(__name__)

THUMBNAIL_QUALITY = 85
THUMBNAIL_CONTENT_TYPE = "image/jpeg"
THUMBNAIL_FORMATS = ("JPEG",)
"""The only format the thumbnail step decodes. A JPEG is decoded at a reduced scale (`draft`),
so even a huge one costs little; a PNG or GIF named `.jpg` would be decoded in full, and a few
hundred KB of PNG can claim 100+ megapixels. Sites send JPEGs, so nothing real is lost."""
THUMBNAIL_ERRORS = (LocalSiteError, OSError, ValueError, Image.DecompressionBombError)
"""What a hostile or broken 10.jpg can raise: the file is then recorded without a thumbnail.
Pillow's DecompressionBombError (a header claiming over ~179 megapixels) is not an OSError."""
RESIZED_BEFORE_RGB = ("L", "RGB")
"""Modes whose conversion to RGB copies channels, so it commutes with resizing (CMYK does not)."""

DEFAULT_IDLE_POLL = 0.02
BATCH_FILES = 64
"""Files ingested in one database transaction at most; what arrived together beyond this waits
for the next one (each holds the database for ~50 us a file, thumbnails excepted)."""
DATABASE_RETRY_S = 1.0
"""How long an object waits before ingestion tries it again after the database did not answer."""
FRESH_EVENT_SECONDS = 60.0
"""An event whose object landed this recently (by the site's clock) is trusted as it stands;
older ones (replayed history, a backlog) are checked with a HEAD first, in case the object
changed or went away since. Well under the shortest expiry (300 s), so an expired object is
never brought back by a late event."""


def make_thumbnail(jpg: bytes, height: int = THUMBNAIL_HEIGHT) -> bytes:
    """An RGB JPG `height` pixels high with the source's aspect ratio.

    The JPEG decoder is asked (`draft`) for the smallest power-of-two reduction still at least
    the target size, which skips most of the decoding; LANCZOS then makes the exact size. A grey
    source (the 10.jpg of a mono camera) is resized before it becomes RGB: the same pixels, a
    third of the resampling. Anything but a JPEG raises OSError (`THUMBNAIL_FORMATS`).
    """
    with Image.open(io.BytesIO(jpg), formats=THUMBNAIL_FORMATS) as source:
        width = max(1, round(source.width * height / source.height))
        source.draft("RGB", (width, height))
        image = source if source.mode in RESIZED_BEFORE_RGB else source.convert("RGB")
        small = image.resize((width, height), Image.Resampling.LANCZOS).convert("RGB")
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=THUMBNAIL_QUALITY)
    return out.getvalue()


def headers_first(events: list[ObjectEvent]) -> list[ObjectEvent]:
    """`events` in arrival order, except that a `data/` header (`.txt`) that arrived after a
    FITS of its exposure takes that FITS's place, the FITS and all after it moving down one.

    A FITS ingested before its header makes ingestion read the FITS back (up to 1 MiB, then
    astropy, ~1 ms here and the whole chunk unsealed in weed) only for the `.txt` to replace
    every value moments later; during a busy run the `.txt` is usually already waiting (43 of
    200 sq768 exposures). Every answer is then exactly the one the site gives when the `.txt`
    lands just before the FITS, as it often does: rows, objects, thumbnails, datastream
    messages (one exposure's are alike) and image ids (rows are created in the same order; the
    gaps that conflicting INSERTs leave in the ids follow the new order). A `.txt` that fails
    still leaves the FITS's own header: its fallback runs after it.
    """
    slots: list[list[ObjectEvent]] = []
    waiting_fits: dict[str, list[ObjectEvent]] = {}
    headed: set[str] = set()
    for event in events:
        exposure, kind = _data_exposure(event.key)
        if exposure is not None and kind == "txt":
            headed.add(exposure)
            slot = waiting_fits.pop(exposure, None)
            if slot is not None:
                slot.insert(0, event)
                continue
        elif exposure is not None and kind == "fits" and exposure not in headed and exposure not in waiting_fits:
            slot = [event]
            waiting_fits[exposure] = slot
            slots.append(slot)
            continue
        slots.append([event])
    return [event for slot in slots for event in slot]


def _data_exposure(key: str) -> tuple[str | None, str]:
    """(the exposure a `data/` key belongs to, its file's kind) as text alone: `data/BASE-TTRR.EXT`
    -> ("BASE", "txt" | "fits" | ...); (None, "") for any other key."""
    directory, _, bare = key.partition("/")
    if directory != DATA_DIRECTORY or "/" in bare:
        return None, ""
    exposure, dash, rest = bare.rpartition("-")
    _, dot, ext = rest.partition(".")
    if not dash or not dot:
        return None, ""
    return exposure, ext.split(".", 1)[0]


@dataclass(frozen=True)
class Stored:
    """What S3 says about an object right now."""

    etag: str
    size: int
    modified_s: float


class Ingestor:
    """Applies the rules to one object at a time, on its own worker thread.

    `direct` reads and writes the objects of each exposure (the hot path); the boto3 client
    `s3` lists the bucket and checks stale events, which happens rarely.
    """

    def __init__(
        self,
        db: SiteDB,
        s3: Any,
        direct: DirectS3,
        *,
        clock: Callable[[], float] = time.time,
        stream: DataStream | None = None,
    ) -> None:
        self.db = db
        self.stream = stream
        self.s3 = s3
        self.direct = direct
        self.bucket = direct.bucket
        self.clock = clock
        self._queue: list[ObjectEvent] = []
        self._pending = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    # --- the queue ---------------------------------------------------------------------------

    def submit(self, event: ObjectEvent) -> None:
        with self._cond:
            self._queue.append(event)
            self._pending += 1
            self._cond.notify_all()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="localsite-ingest", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def wait_idle(self, timeout: float) -> bool:
        """True once everything submitted so far has been handled (for tools and benches)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout)

    def _work(self) -> None:
        """Take what has arrived, headers first, and ingest it in batches of `BATCH_FILES`
        sharing one database transaction each (`SiteDB.batch`). `stop` ends it after the file
        at hand, as before: what is left is ingested after the next start's reconcile."""
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._stopping)
                if self._stopping:
                    return
                arrived, self._queue = headers_first(self._queue), []
            for start in range(0, len(arrived), BATCH_FILES):
                if self._stopping:
                    return
                batch = arrived[start : start + BATCH_FILES]
                try:
                    with self.db.batch():
                        for event in batch:
                            if self._stopping:
                                break
                            self._ingest_logged(event)
                except Exception:  # the commit failed (a full disk): those files' rows are lost
                    log.exception("could not record the ingestion of %d file(s)", len(batch))
                finally:
                    with self._cond:
                        self._pending -= len(batch)
                        self._cond.notify_all()

    def _ingest_logged(self, event: ObjectEvent) -> None:
        """`ingest`, whose failure is logged rather than raised; a database outage puts the
        object back in the queue."""
        try:
            self.ingest(event)
        except DatabaseUnavailable as exc:  # an outage of an external database: keep the object
            log.warning("%s; %s waits %g s", exc, event.key, DATABASE_RETRY_S)
            with self._cond:
                if not self._cond.wait_for(lambda: self._stopping, DATABASE_RETRY_S):
                    self._queue.append(event)
                    self._pending += 1
        except Exception:
            log.exception("ingestion of %s failed", event.key)

    def reconcile(self) -> int:
        """Queue every object in the bucket: catches what landed while nobody was watching."""
        count = 0
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket):
            for item in page.get("Contents", []):
                self.submit(ObjectEvent(key=item["Key"], etag=item["ETag"].strip('"')))
                count += 1
        return count

    # --- the rules ---------------------------------------------------------------------------

    def ingest(self, event: ObjectEvent) -> None:
        """Handle one landed object; doing it twice changes nothing."""
        if event.etag is not None and self.db.object_etag(event.key) == event.etag:
            return
        place = split_key(event.key)
        if place is None:
            log.warning("ignored %s: not under %s", event.key, ", ".join(S3_DIRECTORIES))
            return
        stored = self._fresh(event)
        if stored is None:
            stored = self._head(event.key)
            if stored is None or self.db.object_etag(event.key) == stored.etag:
                return
        directory, bare = place
        name = self._parse(directory, bare)
        record = ObjectRecord(
            key=event.key,
            site=name.site if name else None,
            etag=stored.etag,
            size_bytes=stored.size,
            upload_timestamp_s=stored.modified_s,
            expire_timestamp_s=expire_timestamp(name, stored.modified_s) if name else None,
        )
        recorded = False
        if name is not None and directory in INGESTED_DIRECTORIES:
            recorded = self._apply(directory, name, event.key, record)
        if not recorded:
            self.db.record_object(record)
        if name is not None and directory in INGESTED_DIRECTORIES:
            self._announce(directory, name)

    def _announce(self, directory: str, name: naming.FileName) -> None:
        """Tell the datastream, as the real ingestion does after every file it handled
        (`handle_s3_object_created` and `handle_info_image_created`, LCOGT/ptr_data)."""
        if self.stream is None:
            return
        data: dict[str, Any] = {"s3_directory": directory, "base_filename": name.base, "site": name.site}
        if directory == INFO_DIRECTORY:
            channel = self.db.channel_of(name.site, name.base)
            if channel is None:
                return
            data["channel"] = channel
        self.stream.publish(name.site, data)

    def _parse(self, directory: str, bare: str) -> naming.FileName | None:
        try:
            return naming.parse(bare)
        except InvalidName as exc:
            if directory in INGESTED_DIRECTORIES:
                log.warning("dropped %s/%s: %s", directory, bare, exc)
            return None

    def _apply(
        self, directory: str, name: naming.FileName, key: str, record: ObjectRecord
    ) -> bool:
        """Update the exposure's row; True when `record` went into the row's last transaction
        (so the file costs one commit), False when the caller still has to write it."""
        base, site = name.base, name.site
        if name.kind == "txt":
            return self._apply_header(directory, name, key, record)
        if makes_thumbnail(name) and directory == DATA_DIRECTORY:
            self.db.set_flag(base, directory, site, "jpg_medium_exists", key, data_type=name.data_type)
            return self._make_thumbnail(directory, name, key, record)
        flag = file_flag(name)
        if flag is None:
            return False
        jpg_key = key if name.kind == "jpg" else None
        self.db.set_flag(base, directory, site, flag, jpg_key, record=record, data_type=name.data_type)
        if name.kind == "fits" and directory == DATA_DIRECTORY and not self.db.has_header(base, directory):
            self._header_from_fits(name, key)
        return True

    def _header_from_fits(self, name: naming.FileName, key: str) -> None:
        """A FITS before its `.txt`: the real fallback reads the FITS's primary header
        (`fitsheader.py` says what comes of it)."""
        data = self._get(key, max_bytes=fitsheader.MAX_READ_BYTES)
        header = fitsheader.primary_header(data, bz2_compressed=key.endswith(".bz2"))
        if header is None:
            return
        pointing = headertext.required_fields(fitsheader.as_text(header))
        if pointing is None:
            log.info("no header from %s: its primary header lacks DATE-OBS/CRVAL1/CRVAL2, as on the real service",
                     key)
            return
        values = header_values(fitsheader.as_text(header), pointing, name.data_type)
        self.db.set_header(name.base, DATA_DIRECTORY, name.site, values, header)

    def _apply_header(
        self, directory: str, name: naming.FileName, key: str, record: ObjectRecord
    ) -> bool:
        data = self._get(key, max_bytes=headertext.MAX_HEADER_BYTES)
        header = headertext.parse_header_bytes(data)
        if header is None:
            log.warning("header %s not ingested: a card is not UTF-8, which fails the real service too", key)
            return False
        pointing = headertext.required_fields(header)
        if pointing is None and directory == INFO_DIRECTORY:
            # the real info-image ingestion stores any header as it is (`update_info_image_header`)
            self.db.set_header(name.base, directory, name.site, {"data_type": name.data_type}, header,
                               record=record)
            return True
        if pointing is None:
            log.warning("header %s not ingested: it needs DATE-OBS, CRVAL1/RAHRS, CRVAL2/DEC", key)
            return False
        values = header_values(header, pointing, name.data_type)
        self.db.set_header(name.base, directory, name.site, values, header, record=record)
        return True

    def _make_thumbnail(
        self, directory: str, name: naming.FileName, key: str, record: ObjectRecord
    ) -> bool:
        """The 11.jpg from this 10.jpg; the 10.jpg's row is visible before the work starts."""
        thumbnail_name = name.with_(level=THUMBNAIL_LEVEL, ext="jpg")
        thumbnail_key = f"{directory}/{thumbnail_name}"
        try:
            data = make_thumbnail(self._get(key))
        except THUMBNAIL_ERRORS as exc:
            log.warning("no thumbnail for %s: %s", key, exc)
            return False
        self.direct.put(thumbnail_key, data, THUMBNAIL_CONTENT_TYPE)
        self.db.set_flag(
            name.base, directory, name.site, "jpg_small_exists", thumbnail_key, record=record,
            data_type=name.data_type,
        )
        return True

    # --- S3 ------------------------------------------------------------------------------------

    def _fresh(self, event: ObjectEvent) -> Stored | None:
        """What S3 would answer, from the event itself when it is complete and recent."""
        if event.etag is None or event.size is None or event.modified_s is None:
            return None
        if abs(self.clock() - event.modified_s) > FRESH_EVENT_SECONDS:
            return None
        return Stored(etag=event.etag, size=event.size, modified_s=event.modified_s)

    def _get(self, key: str, max_bytes: int | None = None) -> bytes:
        """An object's bytes; what this batch wrote so far is committed first, so the rows are
        visible and the database free while S3 (and then the thumbnail) takes its time."""
        self.db.commit_batch()
        return self.direct.get(key, max_bytes=max_bytes)

    def _head(self, key: str) -> Stored | None:
        self.db.commit_batch()
        try:
            answer = self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if is_missing(exc):
                return None
            raise
        return Stored(
            etag=answer["ETag"].strip('"'),
            size=int(answer["ContentLength"]),
            modified_s=answer["LastModified"].timestamp(),
        )
