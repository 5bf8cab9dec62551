"""Hear about every object that lands in the bucket: the local stand-in for S3 -> Lambda events.

`weed filer.meta.tail` streams the filer's metadata changes as pretty-printed JSON objects, one
per change, within milliseconds of the upload's 204. It is a child process of ours; if it dies
while the site runs it is started again and the owner is asked to reconcile (list the bucket),
so nothing that landed in between is missed. Ingestion is idempotent, so duplicates are fine.
"""

from __future__ import annotations

import base64
import codecs
import json
import logging
import re
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from send_test_images.localsite.s3server import DEFAULT_STOP_GRACE, child_preexec, stop_process, weed_environment

log = logging.getLogger(__name__)

DEFAULT_REPLAY = "30s"
"""History replayed when the tail starts, to cover the moment between start and subscription."""
DEFAULT_RESTART_DELAY = 0.5
READ_CHUNK = 65536
ETAG_KEY = "Seaweed-X-Amz-ETag"


@dataclass(frozen=True)
class ObjectEvent:
    """An object was written under `key`; the etag (S3's, unquoted) when the source knows it.

    `size` and `modified_s` (what S3's HEAD would say: bytes, Last-Modified in whole seconds)
    come with the filer's events, so ingesting a fresh one needs no request to S3.
    """

    key: str
    etag: str | None = None
    size: int | None = None
    modified_s: float | None = None


_DECODER = json.JSONDecoder()
_SPACES = re.compile(r"\s*")


def split_json_stream(buffer: str) -> tuple[list[Any], str]:
    """Every complete JSON value at the start of `buffer`, and the unparsed rest."""
    values: list[Any] = []
    position = 0
    while True:
        position = _SPACES.match(buffer, position).end()  # type: ignore[union-attr]
        if position >= len(buffer):
            return values, ""
        try:
            value, end = _DECODER.raw_decode(buffer, position)
        except json.JSONDecodeError:
            return values, buffer[position:]
        values.append(value)
        position = end


def event_to_object(event: Any, bucket: str) -> ObjectEvent | None:
    """A created or overwritten file in `bucket` as an ObjectEvent; directories, deletes: None."""
    if not isinstance(event, dict):
        return None
    notification = event.get("eventNotification") or {}
    entry = notification.get("newEntry")
    if not isinstance(entry, dict) or entry.get("isDirectory"):
        return None
    directory = notification.get("newParentPath") or event.get("directory") or ""
    prefix = f"/buckets/{bucket}/"
    path = f"{directory.rstrip('/')}/{entry.get('name', '')}"
    if not path.startswith(prefix) or not entry.get("name"):
        return None
    etag = _entry_etag(entry)
    size, modified_s = _entry_size_and_time(entry) if etag else (None, None)
    return ObjectEvent(key=path[len(prefix) :], etag=etag, size=size, modified_s=modified_s)


def _entry_size_and_time(entry: dict[str, Any]) -> tuple[int | None, float | None]:
    """fileSize and mtime (seconds, as S3's Last-Modified) from the entry, or neither."""
    attributes = entry.get("attributes") or {}
    try:
        return int(attributes["fileSize"]), float(int(attributes["mtime"]))
    except (KeyError, TypeError, ValueError):
        return None, None


def _entry_etag(entry: dict[str, Any]) -> str | None:
    encoded = (entry.get("extended") or {}).get(ETAG_KEY)
    if not encoded:
        return None
    try:
        return base64.b64decode(encoded).decode("ascii").strip('"')
    except (ValueError, UnicodeDecodeError):
        return None


class BucketWatcher:
    """Run `weed filer.meta.tail` for one bucket and call `on_object` for every landed object."""

    def __init__(
        self,
        *,
        weed: Path,
        filer_address: str,
        bucket: str,
        on_object: Callable[[ObjectEvent], None],
        on_restart: Callable[[], None],
        log_path: Path,
    ) -> None:
        self.weed = weed
        self.filer_address = filer_address
        self.bucket = bucket
        self.on_object = on_object
        self.on_restart = on_restart
        self.log_path = log_path
        self._stopping = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._process_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def command(self) -> list[str]:
        return [
            str(self.weed),
            "-logtostderr",
            "filer.meta.tail",
            f"-filer={self.filer_address}",
            f"-pathPrefix=/buckets/{self.bucket}/",
            f"-timeAgo={DEFAULT_REPLAY}",
        ]

    def start(self) -> None:
        """Start the tail (returns at once; events arrive on the watcher's own thread)."""
        self._spawn()
        self._thread = threading.Thread(target=self._run, name="localsite-watch", daemon=True)
        self._thread.start()

    def _spawn(self) -> subprocess.Popen[bytes] | None:
        with self._process_lock:
            if self._stopping.is_set():
                return None
            with self.log_path.open("ab") as log_file:
                self._process = subprocess.Popen(
                    self.command(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=log_file,
                    env=weed_environment(),
                    start_new_session=True,
                    preexec_fn=child_preexec(),
                )
            return self._process

    def _run(self) -> None:
        process = self._process
        while process is not None:
            self._pump(process)
            process.wait()
            if process.stdout is not None:
                process.stdout.close()
            if self._stopping.wait(DEFAULT_RESTART_DELAY):
                return
            log.warning("filer.meta.tail exited with %s; restarting it", process.returncode)
            process = self._spawn()
            if process is not None:
                self._catch_up()

    def _catch_up(self) -> None:
        """Run `on_restart` (a reconcile: it lists the bucket), never letting it end the watch.

        The tail usually exits because S3 went away for a moment, and then the listing fails
        too; had that error escaped, this thread would have died with a traceback and no object
        would ever be ingested again. The next restart of the tail tries again.
        """
        try:
            self.on_restart()
        except Exception as exc:
            log.warning("could not catch up after filer.meta.tail restarted (%s); will retry", exc)

    def _pump(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        while chunk := process.stdout.read1(READ_CHUNK):
            values, pending = split_json_stream(pending + decoder.decode(chunk))
            for value in values:
                landed = event_to_object(value, self.bucket)
                if landed is None:
                    continue
                try:
                    self.on_object(landed)
                except Exception:
                    log.exception("could not queue %s", landed.key)

    def stop(self) -> None:
        self._stopping.set()
        with self._process_lock:
            process, self._process = self._process, None
        if process is not None:
            stop_process(process, DEFAULT_STOP_GRACE)
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if process is not None and process.stdout is not None:
            process.stdout.close()
