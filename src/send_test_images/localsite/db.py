"""The local site's SQLite database: every query lives here.

One connection guarded by a lock: the API thread and the ingestion thread both use it, writes
are tiny, and WAL keeps readers from waiting on the writer. Rows merge by
(base_filename, s3_directory), because the files of one exposure land in any order.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from send_test_images.localsite import headertext, rules
from send_test_images.localsite.imagequery import ImageQuery

DEFAULT_DB_NAME = "site.sqlite3"
SCHEMA_VERSION = 1
"""`PRAGMA user_version` of a data dir this code wrote; `SiteDB._migrate` upgrades older ones."""
DEFAULT_BUSY_TIMEOUT_MS = 5000
DEFAULT_SYNCHRONOUS = "NORMAL"
"""With WAL, NORMAL syncs at checkpoints instead of on every commit: a crash of the site loses
nothing, a power cut may lose the last commits, which the next start's reconcile (listing the
bucket; ingestion is idempotent) writes again. FULL cost an fsync per ingested file."""

FLAGS = ("fits_01_exists", "fits_10_exists", "jpg_medium_exists", "jpg_small_exists")

SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    image_id INTEGER PRIMARY KEY AUTOINCREMENT,
    base_filename TEXT NOT NULL,
    s3_directory TEXT NOT NULL,
    site TEXT NOT NULL,
    data_type TEXT,
    capture_date REAL,
    exposure_time REAL,
    filter_used TEXT,
    right_ascension REAL,
    declination REAL,
    azimuth REAL,
    altitude REAL,
    airmass REAL,
    username TEXT,
    user_id TEXT,
    header TEXT,
    fits_01_exists INTEGER NOT NULL DEFAULT 0,
    fits_10_exists INTEGER NOT NULL DEFAULT 0,
    jpg_medium_exists INTEGER NOT NULL DEFAULT 0,
    jpg_small_exists INTEGER NOT NULL DEFAULT 0,
    jpg_medium_key TEXT,
    jpg_small_key TEXT,
    UNIQUE (base_filename, s3_directory)
);
CREATE INDEX IF NOT EXISTS images_by_site_date ON images (site, capture_date);
CREATE TABLE IF NOT EXISTS objects (
    key TEXT PRIMARY KEY,
    site TEXT,
    etag TEXT,
    size_bytes INTEGER,
    upload_timestamp_s REAL NOT NULL,
    expire_timestamp_s REAL
);
CREATE INDEX IF NOT EXISTS objects_by_site ON objects (site, upload_timestamp_s);
CREATE TABLE IF NOT EXISTS number_reservations (
    site TEXT NOT NULL,
    inst TEXT NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (site, inst)
);
CREATE TABLE IF NOT EXISTS info_channels (
    site TEXT NOT NULL,
    channel INTEGER NOT NULL,
    base_filename TEXT NOT NULL,
    updated_s REAL NOT NULL,
    PRIMARY KEY (site, channel)
);
"""

HEADER_COLUMNS = (
    "data_type",
    "capture_date",
    "exposure_time",
    "filter_used",
    "right_ascension",
    "declination",
    "azimuth",
    "altitude",
    "airmass",
    "username",
    "user_id",
)


def _prefix_range(prefix: str) -> tuple[str, str]:
    """The keys that start with `prefix` are exactly those from the first value up to the second.

    Asked as a range, SQLite walks the primary-key index; `substr(key, 1, n) = prefix` read every
    row of `objects`, once per card on each poll of the observe page. Keys are ASCII (validate.py),
    so the bound is the prefix with its last character moved up by one.
    """
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _like_literal(text: str) -> str:
    """`text` matched literally inside a LIKE pattern with `ESCAPE '\\'`."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class ObjectRecord:
    """One stored S3 object as recentuploads reports it."""

    key: str
    site: str | None
    etag: str | None
    size_bytes: int
    upload_timestamp_s: float
    expire_timestamp_s: float | None


class SiteDB:
    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute(f"PRAGMA busy_timeout = {DEFAULT_BUSY_TIMEOUT_MS}")
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute(f"PRAGMA synchronous = {DEFAULT_SYNCHRONOUS}")
        self._conn.executescript(SCHEMA)
        self.clock = clock
        self._migrate()

    def _migrate(self) -> None:
        """Bring a data dir written by an older version to `SCHEMA_VERSION`; nothing is lost.

        Version 1 stores RA as the header gave it (CRVAL1 in degrees, as the real service), where
        version 0 stored CRVAL1 / 15, and gives every row a capture date (the real row's creation
        time default), where version 0 left it NULL until a header landed.
        """
        with self._lock:
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version >= SCHEMA_VERSION:
            return
        with self._tx() as conn:
            for row in conn.execute("SELECT image_id, header FROM images WHERE header IS NOT NULL").fetchall():
                pointing = headertext.required_fields(json.loads(row["header"]))
                if pointing is not None:
                    conn.execute("UPDATE images SET right_ascension = ? WHERE image_id = ?",
                                 (pointing.right_ascension, row["image_id"]))
            conn.execute(
                "UPDATE images SET capture_date = coalesce((SELECT min(o.upload_timestamp_s) FROM objects o "
                "WHERE substr(o.key, 1, length(images.s3_directory || '/' || images.base_filename || '-')) "
                "= images.s3_directory || '/' || images.base_filename || '-'), 0) WHERE capture_date IS NULL"
            )
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- objects (what landed in S3) -------------------------------------------------------

    def object_etag(self, key: str) -> str | None:
        rows = self._query("SELECT etag FROM objects WHERE key = ?", (key,))
        return rows[0]["etag"] if rows else None

    def record_object(self, record: ObjectRecord) -> None:
        with self._tx() as conn:
            self._upsert_object(conn, record)

    @staticmethod
    def _upsert_object(conn: sqlite3.Connection, record: ObjectRecord | None) -> None:
        if record is None:
            return
        conn.execute(
            "INSERT INTO objects (key, site, etag, size_bytes, upload_timestamp_s, "
            "expire_timestamp_s) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
            "site = excluded.site, etag = excluded.etag, size_bytes = excluded.size_bytes, "
            "upload_timestamp_s = excluded.upload_timestamp_s, "
            "expire_timestamp_s = excluded.expire_timestamp_s",
            (
                record.key,
                record.site,
                record.etag,
                record.size_bytes,
                record.upload_timestamp_s,
                record.expire_timestamp_s,
            ),
        )

    def object_keys(self, prefix: str) -> list[str]:
        """Every stored key that starts with `prefix` (compared exactly: no LIKE wildcards)."""
        rows = self._query("SELECT key FROM objects WHERE key >= ? AND key < ? ORDER BY key", _prefix_range(prefix))
        return [row["key"] for row in rows]

    def expired_objects(self, now_s: float) -> list[ObjectRecord]:
        """Objects whose expiry time has come, oldest first."""
        rows = self._query(
            "SELECT * FROM objects WHERE expire_timestamp_s IS NOT NULL AND expire_timestamp_s <= ? "
            "ORDER BY expire_timestamp_s",
            (now_s,),
        )
        return [ObjectRecord(**dict(row)) for row in rows]

    def forget_object(self, key: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM objects WHERE key = ?", (key,))

    def recent_uploads(self, site: str | None, limit: int, since_s: float | None = None) -> list[ObjectRecord]:
        """Objects under `data/` with a valid name (those the real upload log records), newest
        first; `site` None means every site; `since_s` drops older ones (the log's expiry)."""
        where = ["substr(key, 1, 5) = 'data/'", "site IS NOT NULL"]
        params: list[Any] = []
        if site is not None:
            where.append("site = ?")
            params.append(site)
        if since_s is not None:
            where.append("upload_timestamp_s >= ?")
            params.append(since_s)
        rows = self._query(
            f"SELECT * FROM objects WHERE {' AND '.join(where)} ORDER BY upload_timestamp_s DESC LIMIT ?",
            (*params, limit),
        )
        return [ObjectRecord(**dict(row)) for row in rows]

    def stored_files(self, prefix: str) -> list[tuple[str, float]]:
        """(key, upload time) of every stored object whose key starts with `prefix`."""
        rows = self._query(
            "SELECT key, upload_timestamp_s FROM objects WHERE substr(key, 1, ?) = ? ORDER BY key",
            (len(prefix), prefix),
        )
        return [(row["key"], row["upload_timestamp_s"]) for row in rows]

    # --- images (the merged row per exposure) ------------------------------------------------

    def _ensure_image(self, conn: sqlite3.Connection, base: str, directory: str, site: str,
                      created_s: float | None = None) -> None:
        """The row of an exposure, created on its first file, dated by that file's arrival.

        The real row's `capture_date` and `sort_date` default to its creation time (LCOGT/ptr_data
        `lambda_service/db.py`, `Image.capture_date = Column(DateTime, default=datetime.utcnow)`),
        so a JPG whose header has not landed yet sorts by when it arrived, not last.
        """
        conn.execute(
            "INSERT INTO images (base_filename, s3_directory, site, capture_date) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (base_filename, s3_directory) DO NOTHING",
            (base, directory, site, self.clock() if created_s is None else created_s),
        )

    def set_header(
        self,
        base: str,
        directory: str,
        site: str,
        values: dict[str, Any],
        header: dict[str, str],
        record: ObjectRecord | None = None,
    ) -> None:
        """Fill the row from a header; unknown columns in `values` are a programming error.

        `record`, when given, is written in the same transaction (one commit per ingested file).
        """
        unknown = set(values) - set(HEADER_COLUMNS)
        if unknown:
            raise ValueError(f"not header columns: {sorted(unknown)}")
        assignments = ", ".join(f"{column} = ?" for column in values)
        with self._tx() as conn:
            self._ensure_image(conn, base, directory, site, record.upload_timestamp_s if record else None)
            conn.execute(
                f"UPDATE images SET {assignments}, header = ? "
                "WHERE base_filename = ? AND s3_directory = ?",
                (*values.values(), json.dumps(header), base, directory),
            )
            self._upsert_object(conn, record)

    def set_flag(
        self,
        base: str,
        directory: str,
        site: str,
        flag: str,
        key: str | None = None,
        record: ObjectRecord | None = None,
        data_type: str | None = None,
    ) -> None:
        """Mark one file of the exposure as present; a JPG also remembers its key for URLs.

        `data_type` is the file name's, which the real ingestion writes with every flag
        (`update_new_image`), so a row has one before its header lands.

        `record`, when given, is written in the same transaction (one commit per ingested file).
        """
        if flag not in FLAGS:
            raise ValueError(f"flag {flag!r} is not one of {FLAGS}")
        extra = ""
        params: tuple[Any, ...] = ()
        if flag == "jpg_medium_exists":
            extra, params = ", jpg_medium_key = ?", (key,)
        elif flag == "jpg_small_exists":
            extra, params = ", jpg_small_key = ?", (key,)
        with self._tx() as conn:
            self._ensure_image(conn, base, directory, site, record.upload_timestamp_s if record else None)
            conn.execute(
                f"UPDATE images SET {flag} = 1{extra}, data_type = coalesce(?, data_type) "
                "WHERE base_filename = ? AND s3_directory = ?",
                (*params, data_type, base, directory),
            )
            self._upsert_object(conn, record)

    def latest_images(self, site: str, limit: int, directory: str = "data") -> list[dict[str, Any]]:
        """Newest `sort_date` first (DATE-OBS, or arrival until the header lands), as the real
        `get_latest_site_images`; ties go to the newer row."""
        rows = self._query(
            "SELECT * FROM images WHERE site = ? AND s3_directory = ? AND jpg_medium_exists = 1 "
            "ORDER BY capture_date DESC, image_id DESC LIMIT ?",
            (site, directory, limit),
        )
        return [dict(row) for row in rows]

    def filtered_images(self, where: list[tuple[str, Any]], limit: int) -> list[dict[str, Any]]:
        """Rows under `data/` with a medium JPG, newest `sort_date` first, matching every
        `(condition, value)` in `where` (conditions are written by the caller from a fixed list,
        never from request text; values are bound)."""
        conditions = ["s3_directory = 'data'", "jpg_medium_exists = 1", *(c for c, _ in where)]
        rows = self._query(
            f"SELECT * FROM images WHERE {' AND '.join(conditions)} ORDER BY capture_date DESC, image_id DESC LIMIT ?",
            (*(v for _, v in where), limit),
        )
        return [dict(row) for row in rows]

    def observe_rows(self, query: ImageQuery, limit: int) -> list[dict[str, Any]]:
        """A site's listed images under `data/` matching the observe page's filters, newest first.

        Plain, bound SQL with one condition per given filter, so it reads the same on SQLite and
        PostgreSQL: the file name is a case-insensitive substring (`LOWER(...) LIKE ? ESCAPE`),
        the user is a username or a user id.
        """
        conditions = ["site = ?", "s3_directory = 'data'", "jpg_medium_exists = 1"]
        values: list[Any] = [query.site]
        for condition, value in (
            ("capture_date >= ?", query.start_s), ("capture_date <= ?", query.end_s),
            ("filter_used = ?", query.filter), ("exposure_time >= ?", query.exposure_min),
            ("exposure_time <= ?", query.exposure_max),
        ):
            if value is not None:
                conditions.append(condition)
                values.append(value)
        if query.user is not None:
            conditions.append("(username = ? OR user_id = ?)")
            values += [query.user, query.user]
        if query.filename is not None:
            conditions.append("LOWER(base_filename) LIKE ? ESCAPE '\\'")
            values.append("%" + _like_literal(query.filename.lower()) + "%")
        rows = self._query(
            f"SELECT * FROM images WHERE {' AND '.join(conditions)} "
            "ORDER BY capture_date DESC, image_id DESC LIMIT ?",
            (*values, limit),
        )
        return [dict(row) for row in rows]

    def first_between(self, site: str, start_s: float, end_s: float) -> dict[str, Any] | None:
        """A site's earliest listed image captured in [start_s, end_s): the night's first image."""
        rows = self._query(
            "SELECT * FROM images WHERE site = ? AND s3_directory = 'data' AND jpg_medium_exists = 1 "
            "AND capture_date >= ? AND capture_date < ? ORDER BY capture_date, image_id LIMIT 1",
            (site, start_s, end_s),
        )
        return dict(rows[0]) if rows else None

    def fits_names_between(self, site: str, start_s: float, end_s: float, fits_size: str) -> list[str]:
        """`get_files_within_date_range`: file names of a site's images captured in the range.

        `small`/`large` name the 10/01 `.fits.fz` of rows that have one; `best` names the 01, else
        the 10, else `''` (the real function's answer for a row without FITS), dropped here.
        """
        flag = {"small": "fits_10_exists = 1 AND ", "large": "fits_01_exists = 1 AND "}.get(fits_size, "")
        rows = self._query(
            f"SELECT base_filename, data_type, fits_01_exists, fits_10_exists FROM images WHERE {flag}"
            "site = ? AND s3_directory = 'data' AND capture_date >= ? AND capture_date <= ? ORDER BY capture_date",
            (site, start_s, end_s),
        )
        names = []
        for row in rows:
            level = {"small": "10", "large": "01"}.get(fits_size) or (
                "01" if row["fits_01_exists"] else "10" if row["fits_10_exists"] else None)
            if level:
                names.append(f"{row['base_filename']}-{row['data_type']}{level}.fits.fz")
        return names

    def instruments_by_site(self, directory: str = "data") -> dict[str, list[str]]:
        """Every site with an image row, and the instruments its file names use, most used first."""
        rows = self._query(
            "SELECT site, substr(base_filename, length(site) + 2, "
            "instr(substr(base_filename, length(site) + 2), '-') - 1) AS inst, count(*) AS n "
            "FROM images WHERE s3_directory = ? GROUP BY site, inst ORDER BY site, n DESC, inst",
            (directory,),
        )
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(row["site"], [])
            if row["inst"]:
                found[row["site"]].append(row["inst"])
        return found

    def sites_with_data(self, directory: str = "data") -> list[str]:
        """Sites with at least one listed image, the one with the newest capture first."""
        rows = self._query(
            "SELECT site, max(coalesce(capture_date, 0)) AS newest FROM images "
            "WHERE s3_directory = ? AND jpg_medium_exists = 1 GROUP BY site "
            "ORDER BY newest DESC, site",
            (directory,),
        )
        return [row["site"] for row in rows]

    def has_header(self, base: str, directory: str) -> bool:
        rows = self._query(
            "SELECT header IS NOT NULL AS has FROM images WHERE base_filename = ? AND s3_directory = ?",
            (base, directory),
        )
        return bool(rows and rows[0]["has"])

    def delete_image(self, base: str, directory: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "DELETE FROM images WHERE base_filename = ? AND s3_directory = ?", (base, directory)
            )

    def image(self, base: str, directory: str | None = None) -> dict[str, Any] | None:
        """The row for a base filename; `data` wins over `info-images` when both exist."""
        if directory is None:
            rows = self._query(
                "SELECT * FROM images WHERE base_filename = ? "
                "ORDER BY s3_directory = 'data' DESC LIMIT 1",
                (base,),
            )
        else:
            rows = self._query(
                "SELECT * FROM images WHERE base_filename = ? AND s3_directory = ?",
                (base, directory),
            )
        return dict(rows[0]) if rows else None

    # --- info channels -------------------------------------------------------------------------

    def set_info_channel(self, site: str, channel: int, base: str, now_s: float) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO info_channels (site, channel, base_filename, updated_s) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (site, channel) DO UPDATE SET "
                "base_filename = excluded.base_filename, updated_s = excluded.updated_s",
                (site, channel, base, now_s),
            )

    def channel_of(self, site: str, base: str) -> int | None:
        """The channel `base` was presigned for at `site`, if it is still on one."""
        rows = self._query(
            "SELECT channel FROM info_channels WHERE site = ? AND base_filename = ? ORDER BY channel LIMIT 1",
            (site, base),
        )
        return rows[0]["channel"] if rows else None

    def info_channel(self, site: str, channel: int) -> str | None:
        rows = self._query(
            "SELECT base_filename FROM info_channels WHERE site = ? AND channel = ?",
            (site, channel),
        )
        return rows[0]["base_filename"] if rows else None

    def reserve_numbers(self, site: str, inst: str, count: int, after: int) -> range | None:
        """Hand out `count` numbers no other caller of this site gets, in one write transaction.

        BEGIN IMMEDIATE serialises every reservation (threads and processes alike), and the
        reservation is committed before the caller hears of it, so two senders asking at the same
        moment get disjoint ranges. None when the camera's 8-digit space is full.
        """
        prefix = rules.data_key_prefix(site, inst)
        number_at = len(prefix) + rules.DATA_KEY_NUMBER_OFFSET + 1  # substr() counts from 1
        with self._tx() as conn:
            row = conn.execute(
                "SELECT last FROM number_reservations WHERE site = ? AND inst = ?", (site, inst)
            ).fetchone()
            stored = conn.execute(
                "SELECT MAX(CAST(substr(key, ?, 8) AS INTEGER)) FROM objects WHERE key >= ? AND key < ?",
                (number_at, *_prefix_range(prefix)),
            ).fetchone()[0]
            numbers = rules.next_numbers(count, after=after, reserved=row["last"] if row else 0, stored=stored or 0)
            if numbers is not None:
                conn.execute(
                    "INSERT INTO number_reservations (site, inst, last) VALUES (?, ?, ?) "
                    "ON CONFLICT (site, inst) DO UPDATE SET last = excluded.last",
                    (site, inst, numbers.stop - 1),
                )
        return numbers
