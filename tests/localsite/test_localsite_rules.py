"""The pure parts of ingestion: where keys go, when images expire, thumbnails, S3 events."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from send_test_images.exposure import naming
from send_test_images.localsite.ingest import (
    THUMBNAIL_QUALITY,
    expire_timestamp,
    make_thumbnail,
    split_key,
)
from send_test_images.localsite.watch import ObjectEvent, event_to_object, split_json_stream

BUCKET = "photonranch-001"
UPLOADED = 1_800_000_000.0


def test_keys_split_into_directory_and_bare_name() -> None:
    assert split_key("data/a.jpg") == ("data", "a.jpg")
    assert split_key("info-images/a.jpg") == ("info-images", "a.jpg")
    assert split_key("raw/a.jpg") is None
    assert split_key("data/sub/a.jpg") is None
    assert split_key("data/") is None


@pytest.mark.parametrize(
    ("name", "lifetime"),
    [
        ("tst-inst-20261124-00000001-EP10.jpg", 300.0),
        ("tst-inst-20261124-00000001-EF10.jpg", 300.0),
        ("mrc-inst-20261124-00000001-EP10.jpg", 7 * 86_400.0),
        ("mrc-inst-20261124-00000001-EF10.jpg", 86_400.0),
    ],
)
def test_experimental_and_focus_images_expire(name: str, lifetime: float) -> None:
    assert expire_timestamp(naming.parse(name), UPLOADED) == UPLOADED + lifetime


def test_normal_exposures_never_expire() -> None:
    assert expire_timestamp(naming.parse("tst-inst-20261124-00000001-EX10.jpg"), UPLOADED) is None


def test_thumbnail_is_128_pixels_high_with_the_same_aspect() -> None:
    source = io.BytesIO()
    Image.new("RGB", (768, 512), (1, 2, 3)).save(source, format="JPEG")
    with Image.open(io.BytesIO(make_thumbnail(source.getvalue()))) as thumbnail:
        assert (thumbnail.format, thumbnail.size) == ("JPEG", (192, 128))


@pytest.mark.parametrize("mode", ["L", "RGB", "CMYK"])
def test_thumbnail_is_the_rgb_lanczos_reduction_of_the_decoded_source(mode: str) -> None:
    """Whatever the order of the steps inside, the pixels are those of decoding the source,
    making it RGB and resizing it with LANCZOS (a grey source stays grey)."""
    source = io.BytesIO()
    Image.effect_noise((300, 200), 60).convert(mode).save(source, format="JPEG", quality=95)
    with Image.open(io.BytesIO(source.getvalue())) as decoded:
        decoded.draft("RGB", (192, 128))
        expected = decoded.convert("RGB").resize((192, 128), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    expected.save(out, format="JPEG", quality=THUMBNAIL_QUALITY)
    made = make_thumbnail(source.getvalue())
    assert made == out.getvalue()
    with Image.open(io.BytesIO(made)) as thumbnail:
        assert thumbnail.mode == "RGB"
        if mode == "L":
            red, green, blue = thumbnail.split()
            assert red.tobytes() == green.tobytes() == blue.tobytes()


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
