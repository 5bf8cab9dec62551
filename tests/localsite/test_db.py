"""SiteDB's key lookups (a prefix is matched exactly, through the primary-key index) and batches."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

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


def test_a_row_whose_name_has_no_instrument_lists_its_site_without_one(site_db_at: str | Path) -> None:
    db = SiteDB(site_db_at)
    try:
        db.set_flag("tst-cam-20261124-00000001", "data", "tst", "jpg_medium_exists")
        db.set_flag("tst-odd", "data", "tst", "jpg_medium_exists")  # no dash after the instrument
        assert db.instruments_by_site() == {"tst": ["cam"]}
    finally:
        db.close()


def test_a_filename_pattern_is_case_sensitive_like_and_a_stray_key_never_counts_as_a_number(
    site_db_at: str | Path,
) -> None:
    db = SiteDB(site_db_at)
    try:
        for base in ("tst-cam-20261124-00000001", "tst-Cam-20261124-00000002", "tst-cam_x-20261124-00000003"):
            db.set_flag(base, "data", "tst", "jpg_medium_exists")
        names = {row["base_filename"] for row in db.filtered_images([], 10, name_like="tst-cam-%")}
        assert names == {"tst-cam-20261124-00000001"}
        assert {row["base_filename"] for row in db.filtered_images([], 10, name_like="tst-cam\\_x%")} == {
            "tst-cam_x-20261124-00000003"}
        db.record_object(ObjectRecord("data/tst-cam-20261124-0000007x-EX00.txt", "tst", None, 1, 1.0, None))
        db.record_object(ObjectRecord("data/tst-cam-20261124-00000040-EX00.txt", "tst", None, 1, 1.0, None))
        assert db.reserve_numbers("tst", "cam", 1, after=0) == range(41, 42)
    finally:
        db.close()


BLOCKED_WAIT_S = 0.3
"""How long a reader is given to finish while a batch is open (it must not: it waits for the commit)."""
DONE_WAIT_S = 10.0


def _stored(key: str) -> ObjectRecord:
    return ObjectRecord(key, "tst", "etag", 1, 1.0, None)


def test_other_threads_see_a_batch_all_at_once_when_it_commits(tmp_path: Path) -> None:
    db = SiteDB(tmp_path / "site.sqlite3")
    try:
        seen: list[list[str]] = []
        reader = threading.Thread(target=lambda: seen.append(db.object_keys("data/")))
        with db.batch():
            db.record_object(_stored("data/a"))
            assert db.object_keys("data/") == ["data/a"]  # the batch's own thread reads its writes
            reader.start()
            reader.join(BLOCKED_WAIT_S)
            assert reader.is_alive()
            db.record_object(_stored("data/b"))
        reader.join(DONE_WAIT_S)
        assert seen == [["data/a", "data/b"]]
    finally:
        db.close()


def test_commit_batch_lets_other_threads_in_before_the_batch_ends(tmp_path: Path) -> None:
    db = SiteDB(tmp_path / "site.sqlite3")
    try:
        seen: list[list[str]] = []
        with db.batch():
            db.record_object(_stored("data/a"))
            db.commit_batch()
            reader = threading.Thread(target=lambda: seen.append(db.object_keys("data/")))
            reader.start()
            reader.join(DONE_WAIT_S)
            db.record_object(_stored("data/b"))
        assert seen == [["data/a"]]
        assert db.object_keys("data/") == ["data/a", "data/b"]
    finally:
        db.close()


def test_a_write_that_fails_in_a_batch_undoes_itself_alone(tmp_path: Path) -> None:
    """As when each write was its own transaction: the image row of a flag whose object could not
    be recorded is not left behind, and the writes around it stay."""
    db = SiteDB(tmp_path / "site.sqlite3")
    try:
        unrecordable = ObjectRecord("data/b", "tst", None, 1, None, None)  # type: ignore[arg-type]
        with db.batch():
            db.record_object(_stored("data/a"))
            with pytest.raises(sqlite3.IntegrityError):
                db.set_flag("tst-cam-20261124-00000002", "data", "tst", "jpg_medium_exists", "k",
                            record=unrecordable)
            db.record_object(_stored("data/c"))
        assert db.image("tst-cam-20261124-00000002") is None
        assert db.object_keys("data/") == ["data/a", "data/c"]
    finally:
        db.close()
