"""Reading weed's metadata stream: which events are landed objects, and how a stream is cut."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from send_test_images.localsite.watch import BucketWatcher, ObjectEvent, event_to_object, split_json_stream

BUCKET = "photonranch-001"


def tail_event(directory: str, name: str, *, is_dir: bool = False, deleted: bool = False) -> dict:
    entry = {
        "name": name,
        "isDirectory": is_dir,
        "attributes": {"fileSize": "5"},
        "extended": {"Seaweed-X-Amz-ETag": "NWQ0MTQwMmFiYzRiMmE3NmI5NzE5ZDkxMTAxN2M1OTI="},
    }
    notification = {
        "oldEntry": entry if deleted else None,
        "newEntry": None if deleted else entry,
        "newParentPath": "" if deleted else directory,
    }
    return {"directory": directory, "eventNotification": notification, "tsNs": "1"}


def test_filer_events_become_object_keys_with_their_etag() -> None:
    event = tail_event(f"/buckets/{BUCKET}/data", "e.txt")
    assert event_to_object(event, BUCKET) == ObjectEvent(
        key="data/e.txt", etag="5d41402abc4b2a76b9719d911017c592"
    )


@pytest.mark.parametrize(
    "event",
    [
        tail_event(f"/buckets/{BUCKET}", "data", is_dir=True),
        tail_event(f"/buckets/{BUCKET}/data", "e.txt", deleted=True),
        tail_event("/buckets/other-bucket/data", "e.txt"),
        "not an event",
    ],
)
def test_directories_deletes_and_other_buckets_are_not_objects(event: object) -> None:
    assert event_to_object(event, BUCKET) is None


def test_pretty_printed_events_split_across_reads_are_reassembled() -> None:
    stream = "".join(json.dumps(e, indent=2) + "\n" for e in ({"a": 1}, {"b": [2, 3]}))
    cut = len(stream) - 7
    first, rest = split_json_stream(stream[:cut])
    second, rest = split_json_stream(rest + stream[cut:])
    assert first + second == [{"a": 1}, {"b": [2, 3]}]
    assert rest == ""


def test_a_failing_catch_up_never_ends_the_watch(tmp_path: Path) -> None:
    """S3 away for a moment: the tail exits and the reconcile after it fails; the watch goes on."""
    tail = tmp_path / "weed"
    tail.write_text("#!/bin/sh\nexit 1\n")  # a tail that exits at once, like one that lost S3
    tail.chmod(0o755)
    tries = threading.Semaphore(0)

    def reconcile() -> None:
        tries.release()
        raise OSError("Could not connect to the endpoint URL")

    watcher = BucketWatcher(weed=tail, filer_address="127.0.0.1:1.2", bucket=BUCKET,
                            on_object=lambda event: None, on_restart=reconcile,
                            log_path=tmp_path / "weed.log")
    watcher.start()
    try:
        assert tries.acquire(timeout=10) and tries.acquire(timeout=10)  # tried again after failing
    finally:
        watcher.stop()
