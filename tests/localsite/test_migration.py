"""A data dir written before the real-API shapes opens with nothing lost (SiteDB._migrate).

Version 0 stored RA as CRVAL1 / 15 and left `capture_date` NULL until a header landed; version 1
stores CRVAL1 as the real ingestion does (degrees) and dates a row on its first file's arrival.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from send_test_images.localsite.db import SCHEMA, SCHEMA_VERSION, SiteDB


def _old_data_dir(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    header = {"DATE-OBS": "2026-11-24T03:04:05", "CRVAL1": "150.0", "CRVAL2": "-20.5"}
    conn.execute(
        "INSERT INTO images (base_filename, s3_directory, site, capture_date, right_ascension, declination, "
        "header, jpg_medium_exists) VALUES ('tst-inst-20261124-00000001', 'data', 'tst', 1.0e9, 10.0, -20.5, ?, 1)",
        (json.dumps(header),),
    )
    conn.execute(
        "INSERT INTO images (base_filename, s3_directory, site, jpg_medium_exists) "
        "VALUES ('tst-inst-20261124-00000002', 'data', 'tst', 1)"
    )
    conn.execute(
        "INSERT INTO objects (key, site, etag, size_bytes, upload_timestamp_s) "
        "VALUES ('data/tst-inst-20261124-00000002-EX10.jpg', 'tst', 'e', 5, 1234.5)"
    )
    conn.commit()
    conn.close()


def test_an_old_data_dir_is_migrated_once(tmp_path: Path) -> None:
    path = tmp_path / "site.sqlite3"
    _old_data_dir(path)
    db = SiteDB(path)
    with_header = db.image("tst-inst-20261124-00000001", "data")
    late = db.image("tst-inst-20261124-00000002", "data")
    assert with_header is not None and late is not None
    assert with_header["right_ascension"] == pytest.approx(150.0)  # hours -> degrees, from the header
    assert with_header["capture_date"] == 1.0e9
    assert late["capture_date"] == 1234.5  # its first file's arrival
    db.close()
    again = SiteDB(path)  # a second open changes nothing
    row = again.image("tst-inst-20261124-00000001", "data")
    assert row is not None and row["right_ascension"] == pytest.approx(150.0)
    again.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
