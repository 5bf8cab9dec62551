"""SiteDB's key lookups: a prefix is matched exactly, through the primary-key index."""

from __future__ import annotations

from pathlib import Path

from send_test_images.localsite.db import ObjectRecord, SiteDB

KEYS = ["data/x", "data/x-", "data/x-1", "data/x-2", "data/x-zz", "data/x.", "data/x_1", "data/y-1", "data/w-1"]


def test_object_keys_are_exactly_the_keys_starting_with_the_prefix(site_db_at: str | Path) -> None:
    db = SiteDB(site_db_at)
    try:
        for key in KEYS:
            db.record_object(ObjectRecord(key, "tst", None, 1, 1.0, None))
        assert db.object_keys("data/x-") == sorted(k for k in KEYS if k.startswith("data/x-"))
        assert db.object_keys("data/x") == sorted(k for k in KEYS if k.startswith("data/x"))
        assert db.object_keys("data/z") == []
    finally:
        db.close()


def test_reserving_numbers_sees_only_this_cameras_files(site_db_at: str | Path) -> None:
    db = SiteDB(site_db_at)
    try:
        for key in ("data/tst-cam-20261124-00000040-EX00.txt", "data/tst-cam1-20261124-00000900-EX00.txt",
                    "data/tst-cal-20261124-00000700-EX00.txt"):
            db.record_object(ObjectRecord(key, "tst", None, 1, 1.0, None))
        assert db.reserve_numbers("tst", "cam", 2, after=0) == range(41, 43)
    finally:
        db.close()
