"""The local site's database, SQLite in its data dir or an external PostgreSQL: every query lives here.

The real service keeps its images in PostgreSQL through SQLAlchemy (LCOGT/ptr_data
`lambda_service/db.py`: `get_session` makes an engine from the `db-url` parameter; its
requirements pin SQLAlchemy and psycopg2-binary), so the same queries run on both engines here:
SQLAlchemy parses the URL, pools and pings connections and makes the tables (`METADATA`); the SQL
text below runs on the pooled DBAPI cursor, with the few dialect differences named in `_DIALECT`.

SQLite: one connection guarded by a lock, as before: the API thread and the ingestion thread
both use it, writes are tiny, and WAL keeps readers from waiting on the writer; a write
transaction starts with BEGIN IMMEDIATE. PostgreSQL: a small pool, no lock; each write is one
transaction, and number reservations lock their row. Rows merge by (base_filename,
s3_directory), because the files of one exposure land in any order.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import StaticPool

from send_test_images.errors import LocalSiteError
from send_test_images.localsite import headertext, rules
from send_test_images.localsite.imagequery import ImageQuery

DEFAULT_DB_NAME = "site.sqlite3"
SCHEMA_VERSION = 1
"""The schema version this code writes (`PRAGMA user_version` on SQLite, `site_meta` on
PostgreSQL); `SiteDB._migrate` upgrades older SQLite files."""
DEFAULT_BUSY_TIMEOUT_MS = 5000
DEFAULT_SYNCHRONOUS = "NORMAL"
"""With WAL, NORMAL syncs at checkpoints instead of on every commit: a crash of the site loses
nothing, a power cut may lose the last commits, which the next start's reconcile (listing the
bucket; ingestion is idempotent) writes again. FULL cost an fsync per ingested file."""
DEFAULT_CONNECT_TIMEOUT_S = 5
"""How long a PostgreSQL connection may take before the database counts as unreachable."""
DEFAULT_POOL_SIZE = 4
"""PostgreSQL connections kept open: the API's thread pool, ingestion and expiry share them."""
POSTGRES_DRIVER = "postgresql+psycopg"
"""psycopg 3: `postgresql://` alone would make SQLAlchemy look for psycopg2."""
OWNER_LOCK_KEY = 0x5E4D_7E57_1A6E
"""The advisory lock one `serve` holds on its PostgreSQL database (any fixed 64-bit number;
this one spells "send test image")."""
RETRY_AFTER_S = 5
"""What a client that met a database outage is told to wait before it tries again."""
PROBLEM_CACHE_S = 1.0
"""How long one answer of `SiteDB.problem` is reused (as weed's health check)."""

FLAGS = ("fits_01_exists", "fits_10_exists", "jpg_medium_exists", "jpg_small_exists")

_TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
"""Text compared byte by byte on both engines: `_prefix_range` and every ORDER BY rely on it,
and PostgreSQL would otherwise compare in the database's locale."""

METADATA = sa.MetaData()
IMAGES = sa.Table(
    "images", METADATA,
    sa.Column("image_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("base_filename", _TEXT, nullable=False),
    sa.Column("s3_directory", _TEXT, nullable=False),
    sa.Column("site", _TEXT, nullable=False),
    sa.Column("data_type", _TEXT),
    sa.Column("capture_date", sa.Double),
    sa.Column("exposure_time", sa.Double),
    sa.Column("filter_used", _TEXT),
    sa.Column("right_ascension", sa.Double),
    sa.Column("declination", sa.Double),
    sa.Column("azimuth", sa.Double),
    sa.Column("altitude", sa.Double),
    sa.Column("airmass", sa.Double),
    sa.Column("username", _TEXT),
    sa.Column("user_id", _TEXT),
    sa.Column("header", _TEXT),
    *(sa.Column(flag, sa.Integer, nullable=False, server_default="0") for flag in FLAGS),
    sa.Column("jpg_medium_key", _TEXT),
    sa.Column("jpg_small_key", _TEXT),
    sa.UniqueConstraint("base_filename", "s3_directory"),
    sa.Index("images_by_site_date", "site", "capture_date"),
    sqlite_autoincrement=True,
)
OBJECTS = sa.Table(
    "objects", METADATA,
    sa.Column("key", _TEXT, primary_key=True),
    sa.Column("site", _TEXT),
    sa.Column("etag", _TEXT),
    sa.Column("size_bytes", sa.BigInteger),
    sa.Column("upload_timestamp_s", sa.Double, nullable=False),
    sa.Column("expire_timestamp_s", sa.Double),
    sa.Index("objects_by_site", "site", "upload_timestamp_s"),
)
NUMBER_RESERVATIONS = sa.Table(
    "number_reservations", METADATA,
    sa.Column("site", _TEXT, primary_key=True),
    sa.Column("inst", _TEXT, primary_key=True),
    sa.Column("last", sa.BigInteger, nullable=False),
)
INFO_CHANNELS = sa.Table(
    "info_channels", METADATA,
    sa.Column("site", _TEXT, primary_key=True),
    sa.Column("channel", sa.Integer, primary_key=True),
    sa.Column("base_filename", _TEXT, nullable=False),
    sa.Column("updated_s", sa.Double, nullable=False),
)
SITE_META = sa.Table(
    "site_meta", METADATA,
    sa.Column("name", _TEXT, primary_key=True),
    sa.Column("value", _TEXT, nullable=False),
)
"""The schema version (PostgreSQL) and who serves the database right now (`owner`)."""

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
"""The SQLite schema of version 0 data dirs, as they were written (kept for the migration test)."""


@dataclass(frozen=True)
class _Dialect:
    """What differs between the engines in the queries below."""

    position: str
    """`position(needle in haystack)` as a function of (haystack, needle)."""
    eight_digits: str
    """A condition that the text before it is exactly eight ASCII digits."""
    name_like: str
    """The real `base_filename.like(pattern)`: case-sensitive, `%`/`_`/backslash escapes."""


_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
"""A `:name` parameter in the SQL below (never a `::` cast, never inside a word)."""

_DIALECT = {
    "sqlite": _Dialect("instr", "GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]'", "GLOB"),
    "postgresql": _Dialect("strpos", "~ '^[0-9]{8}$'", "LIKE"),
}

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


class DatabaseUnavailable(LocalSiteError):
    """The database did not answer (a PostgreSQL outage, a dropped connection): try again later.

    The API answers it 503 with a Retry-After, never a 5xx of its own making; ingestion puts the
    object back in its queue.
    """

    def __init__(self, database: str, reason: str) -> None:
        super().__init__(f"the database {database} is not answering ({reason}): retry in {RETRY_AFTER_S} s")
        self.database = database
        self.reason = reason


def _prefix_range(prefix: str) -> tuple[str, str]:
    """The keys that start with `prefix` are exactly those from the first value up to the second.

    Asked as a range, the engine walks the primary-key index; `substr(key, 1, n) = prefix` read
    every row of `objects`, once per card on each poll of the observe page. Keys are ASCII
    (validate.py) and compared byte by byte (`_TEXT`), so the bound is the prefix with its last
    character moved up by one.
    """
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _like_literal(text: str) -> str:
    """`text` matched literally inside a LIKE pattern with `ESCAPE '\\'`."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def database_url(db: str | None, data_dir: Path) -> URL:
    """The database `serve --db` names (a PostgreSQL URL), or SQLite in the data dir without one.

    Only PostgreSQL is taken as a URL: SQLite belongs in the data dir, whose lock makes it the
    site's own. Refused with one line naming the value and what is allowed.
    """
    if db is None:
        return URL.create("sqlite", database=str(Path(data_dir) / DEFAULT_DB_NAME))
    try:
        url = make_url(db)
    except ArgumentError:
        url = None
    if url is None or url.get_backend_name() != "postgresql" or not url.database:
        raise LocalSiteError(
            f"database {db!r} is not allowed: use a PostgreSQL URL, postgresql://USER@HOST:PORT/DBNAME "
            "(without --db the site keeps SQLite in its data dir)"
        )
    return url.set(drivername=POSTGRES_DRIVER)


def shown(url: URL) -> str:
    """The URL as messages print it: never its password."""
    return url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)


@dataclass(frozen=True)
class ObjectRecord:
    """One stored S3 object as recentuploads reports it."""

    key: str
    site: str | None
    etag: str | None
    size_bytes: int
    upload_timestamp_s: float
    expire_timestamp_s: float | None


def _make_engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_connected)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    try:
        return sa.create_engine(
            url, pool_size=DEFAULT_POOL_SIZE, pool_pre_ping=True,
            connect_args={"connect_timeout": DEFAULT_CONNECT_TIMEOUT_S},
        )
    except (NoSuchModuleError, ImportError) as exc:
        raise LocalSiteError(
            f"cannot use the database {shown(url)}: its driver psycopg is not installed ({exc}): "
            "use pip install 'send-test-images[postgres]'"
        ) from exc
    except ArgumentError as exc:
        raise LocalSiteError(f"cannot use the database {shown(url)}: {exc}") from exc


def _sqlite_connected(dbapi_connection: Any, _record: Any) -> None:
    """Autocommit at the driver, so `_sqlite_begin` alone decides how a transaction starts."""
    dbapi_connection.isolation_level = None
    dbapi_connection.execute(f"PRAGMA busy_timeout = {DEFAULT_BUSY_TIMEOUT_MS}")
    dbapi_connection.execute("PRAGMA journal_mode = WAL")
    dbapi_connection.execute(f"PRAGMA synchronous = {DEFAULT_SYNCHRONOUS}")


def _sqlite_begin(conn: Connection) -> None:
    """A write takes the write lock at BEGIN (IMMEDIATE), so it never fails half-way on a busy file."""
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.pop("write", False) else "BEGIN")


class SiteDB:
    """Every query of the site; safe to share between threads."""

    def __init__(self, where: Path | str | URL, clock: Callable[[], float] = time.time) -> None:
        """`where` is an SQLite file's path, or a database URL (see `database_url`)."""
        if isinstance(where, Path) or (isinstance(where, str) and "://" not in where):
            path = Path(where)
            path.parent.mkdir(parents=True, exist_ok=True)
            where = URL.create("sqlite", database=str(path))
        self.url = make_url(where) if isinstance(where, str) else where
        self.clock = clock
        self._engine = _make_engine(self.url)
        self.dialect = self._engine.dialect.name
        self._sql = _DIALECT[self.dialect]
        sqlite = self.dialect == "sqlite"
        self._lock: contextlib.AbstractContextManager[Any] = threading.Lock() if sqlite else contextlib.nullcontext()
        self._owner: Connection | None = None
        self._owner_info: dict[str, Any] = {}
        self._checked: tuple[float, str | None] | None = None
        self._problem_lock = threading.Lock()
        self._held: Any = None  # SQLite: the one DBAPI connection, checked out for the site's life
        self._translated: dict[str, str] = {}
        self._batches = threading.local()  # per thread: inside `batch()`, and its open transaction
        try:
            with self._unavailable_as_error(), self._engine.begin() as conn:
                conn.info["write"] = True
                METADATA.create_all(conn)
            if sqlite:
                self._held = self._engine.raw_connection()
            self._migrate()
        except DatabaseUnavailable as exc:
            self.close()
            raise LocalSiteError(f"cannot open the database {exc.database} ({exc.reason}): "
                                 "start it, or check --db") from exc
        except BaseException:
            self.close()
            raise

    # --- connections -------------------------------------------------------------------------
    # The queries run on the DBAPI cursor of a pooled connection: SQLAlchemy parses the URL, pools
    # and pings connections, knows the dialect and makes the tables; its statement layer
    # (compiling, result objects, a connection checkout per call) cost 5-50x the query itself on
    # the per-file path (bench/bench_db.py).

    def _driver_sql(self, sql: str) -> str:
        """`:name` parameters as the driver takes them: sqlite3 as written, psycopg as `%(name)s`."""
        translated = self._translated.get(sql)
        if translated is None:
            translated = sql if self.dialect == "sqlite" else _PARAMETER.sub(r"%(\1)s", sql)
            self._translated[sql] = translated
        return translated

    @contextlib.contextmanager
    def _unavailable_as_error(self) -> Iterator[None]:
        """A lost or refused connection becomes `DatabaseUnavailable`, one line naming the database."""
        try:
            yield
        except DBAPIError as exc:  # raised by SQLAlchemy: a checkout, a ping, create_all
            if self.dialect == "sqlite" or not isinstance(exc, OperationalError | InterfaceError) \
                    or not _is_outage(exc.orig, exc.connection_invalidated):
                raise
            raise DatabaseUnavailable(shown(self.url), _first_line(exc.orig or exc)) from exc
        except Exception as exc:  # raised by the driver on a query
            dbapi = self._engine.dialect.dbapi
            if self.dialect == "sqlite" or dbapi is None \
                    or not isinstance(exc, dbapi.OperationalError | dbapi.InterfaceError) or not _is_outage(exc, False):
                raise
            raise DatabaseUnavailable(shown(self.url), _first_line(exc)) from exc

    @contextlib.contextmanager
    def _transaction(self, write: bool) -> Iterator[_Cursor]:
        """A cursor in one transaction: committed on leaving, rolled back on an error.

        SQLite: the held connection under the lock; a write begins IMMEDIATE, a read runs in
        autocommit (WAL readers never wait). PostgreSQL: a pooled connection per transaction; one
        that failed is invalidated, so the pool never hands out a dead connection again.
        """
        if self._held is not None and getattr(self._batches, "on", False):
            with self._batched(write) as cursor:
                yield cursor
            return
        with self._lock, self._unavailable_as_error():
            if self._held is not None:
                cursor = self._held.cursor()
                if write:
                    cursor.execute("BEGIN IMMEDIATE")
                try:
                    yield _Cursor(cursor, self._driver_sql)
                except BaseException:
                    if write:
                        cursor.execute("ROLLBACK")
                    raise
                if write:
                    cursor.execute("COMMIT")
                return
            connection = self._engine.raw_connection()
            try:
                yield _Cursor(connection.cursor(), self._driver_sql)
                connection.commit()
            except BaseException:
                with contextlib.suppress(Exception):
                    connection.invalidate()
                raise
            finally:
                connection.close()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """The calling thread's writes inside share one SQLite transaction, committed on leaving
        or at `commit_batch()`; on PostgreSQL each write stays its own transaction.

        Ingestion writes a few small rows per file, and on SQLite the commit of each was about
        half of a write's cost. The transaction opens at the first write and holds the lock until
        it commits, so other threads wait for it rather than read around it: whoever heard of a
        file (the datastream) and asks at once reads it committed. Each write runs under a
        savepoint, so one that fails undoes itself alone, as when it was its own transaction.
        """
        if self._held is None or getattr(self._batches, "on", False):
            yield
            return
        self._batches.on = True
        try:
            yield
        finally:
            self._batches.on = False
            self.commit_batch()

    def commit_batch(self) -> None:
        """Commit the calling thread's open batch transaction, if any, and free the lock: before
        slow work (an S3 request, a thumbnail), so other threads are not held up by it."""
        cursor = getattr(self._batches, "cursor", None)
        if cursor is None:
            return
        self._batches.cursor = None
        try:
            cursor.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                cursor.execute("ROLLBACK")
            raise
        finally:
            self._lock.release()

    @contextlib.contextmanager
    def _batched(self, write: bool) -> Iterator[_Cursor]:
        """Inside `batch()` (SQLite): a write joins the open transaction, opening it (and taking
        the lock) if none is open; a read runs in the open transaction, or as usual without one."""
        cursor = getattr(self._batches, "cursor", None)
        if cursor is None and not write:
            with self._lock:
                yield _Cursor(self._held.cursor(), self._driver_sql)
            return
        if cursor is None:
            self._lock.acquire()
            try:
                cursor = self._held.cursor()
                cursor.execute("BEGIN IMMEDIATE")
            except BaseException:
                self._lock.release()
                raise
            self._batches.cursor = cursor
        if not write:
            yield _Cursor(cursor, self._driver_sql)
            return
        cursor.execute("SAVEPOINT batched_write")
        try:
            yield _Cursor(cursor, self._driver_sql)
        except BaseException:
            cursor.execute("ROLLBACK TO batched_write")
            cursor.execute("RELEASE batched_write")
            raise
        cursor.execute("RELEASE batched_write")

    def _tx(self) -> contextlib.AbstractContextManager[_Cursor]:
        """One write transaction (BEGIN IMMEDIATE on SQLite)."""
        return self._transaction(write=True)

    def _query(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        with self._transaction(write=False) as cursor:
            return cursor.rows(sql, **params)

    @staticmethod
    def _run(cursor: _Cursor, sql: str, **params: Any) -> _Cursor:
        return cursor.run(sql, **params)

    def close(self) -> None:
        if self._owner is not None:
            with contextlib.suppress(Exception):
                self._owner.close()
            self._owner = None
        if self._held is not None:
            with contextlib.suppress(Exception):
                self._held.close()
            self._held = None
        self._engine.dispose()

    # --- schema --------------------------------------------------------------------------------

    def _migrate(self) -> None:
        """Bring a database written by an older version to `SCHEMA_VERSION`; nothing is lost.

        Version 1 stores RA as the header gave it (CRVAL1 in degrees, as the real service), where
        version 0 stored CRVAL1 / 15, and gives every row a capture date (the real row's creation
        time default), where version 0 left it NULL until a header landed. Version 0 existed only
        on SQLite, so a PostgreSQL database only ever records its version.
        """
        if self.dialect != "sqlite":
            with self._tx() as conn:
                self._run(conn, "INSERT INTO site_meta (name, value) VALUES ('schema_version', :v) "
                          "ON CONFLICT (name) DO NOTHING", v=str(SCHEMA_VERSION))
            return
        version = self._query("PRAGMA user_version")[0]["user_version"]
        if version >= SCHEMA_VERSION:
            return
        with self._tx() as conn:
            for row in conn.rows("SELECT image_id, header FROM images WHERE header IS NOT NULL"):
                pointing = headertext.required_fields(json.loads(row["header"]))
                if pointing is not None:
                    self._run(conn, "UPDATE images SET right_ascension = :ra WHERE image_id = :id",
                              ra=pointing.right_ascension, id=row["image_id"])
            self._run(
                conn,
                "UPDATE images SET capture_date = coalesce((SELECT min(o.upload_timestamp_s) FROM objects o "
                "WHERE substr(o.key, 1, length(images.s3_directory || '/' || images.base_filename || '-')) "
                "= images.s3_directory || '/' || images.base_filename || '-'), 0) WHERE capture_date IS NULL",
            )
            conn.run(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def problem(self) -> str | None:
        """Why the database cannot serve right now, as one line; None when it answers (SQLite
        always does). One `SELECT 1` per `PROBLEM_CACHE_S` at most, for every /health."""
        if self.dialect == "sqlite":
            return None
        with self._problem_lock:
            now = time.monotonic()
            if self._checked is None or now - self._checked[0] >= PROBLEM_CACHE_S:
                try:
                    self._query("SELECT 1 AS alive")
                    found = None
                except DatabaseUnavailable as exc:
                    found = str(exc)
                self._checked = (now, found)
            return self._checked[1]

    # --- ownership -----------------------------------------------------------------------------

    def claim(self, owner: dict[str, Any]) -> None:
        """Make this site the only one serving a PostgreSQL database, or say who serves it.

        An SQLite file is owned through its data dir's lock; a PostgreSQL database can be reached
        from many machines, so the owner holds a session advisory lock on a connection of its
        own for as long as it runs. PostgreSQL drops the lock when that connection ends (the
        site stopped, was killed, or its machine vanished), as the kernel drops a dead
        process's flock. `owner` (pid, host, URL) goes into `site_meta` for the refusal message.
        """
        if self.dialect == "sqlite":
            return
        with self._unavailable_as_error():
            conn = self._engine.connect()
            if not conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": OWNER_LOCK_KEY}).scalar():
                conn.close()
                held = self._query("SELECT value FROM site_meta WHERE name = 'owner'")
                raise LocalSiteError(held_by_message(shown(self.url), json.loads(held[0]["value"]) if held else {}))
            conn.commit()
        self._owner = conn
        self._owner_info = owner
        self.set_owner(owner)

    def keep_claim(self) -> str | None:
        """Take the database's lock again if its session was lost; why not, if another site has it.

        A PostgreSQL restart or a terminated session drops the lock with the session; until it
        is taken again a second `serve` could start on the same rows. `serve` calls this every few
        seconds: a live session costs one `SELECT 1`; a lost one is replaced and the lock taken
        again. None while the claim holds, or while the database is down (the next call retries).
        """
        if not self._owner_info:  # never claimed: SQLite, or not started
            return None
        if self._owner is not None:
            try:
                with self._unavailable_as_error():
                    self._owner.exec_driver_sql("SELECT 1").close()
                    self._owner.commit()
                return None
            except DatabaseUnavailable:
                with contextlib.suppress(Exception):
                    self._owner.close()
                self._owner = None
        try:
            self.claim(self._owner_info)
        except DatabaseUnavailable:
            return None
        except LocalSiteError as exc:
            return str(exc)
        return None

    def set_owner(self, owner: dict[str, Any]) -> None:
        """Record who serves the database (its URL once it answers); SQLite: nothing to do."""
        if self.dialect == "sqlite":
            return
        with self._tx() as conn:
            self._run(conn, "INSERT INTO site_meta (name, value) VALUES ('owner', :v) "
                      "ON CONFLICT (name) DO UPDATE SET value = excluded.value", v=json.dumps(owner))

    # --- objects (what landed in S3) -------------------------------------------------------

    def object_etag(self, key: str) -> str | None:
        rows = self._query("SELECT etag FROM objects WHERE key = :key", key=key)
        return rows[0]["etag"] if rows else None

    def record_object(self, record: ObjectRecord) -> None:
        with self._tx() as conn:
            self._upsert_object(conn, record)

    def _upsert_object(self, conn: _Cursor, record: ObjectRecord | None) -> None:
        if record is None:
            return
        self._run(
            conn,
            "INSERT INTO objects (key, site, etag, size_bytes, upload_timestamp_s, expire_timestamp_s) "
            "VALUES (:key, :site, :etag, :size_bytes, :upload_timestamp_s, :expire_timestamp_s) "
            "ON CONFLICT (key) DO UPDATE SET "
            "site = excluded.site, etag = excluded.etag, size_bytes = excluded.size_bytes, "
            "upload_timestamp_s = excluded.upload_timestamp_s, "
            "expire_timestamp_s = excluded.expire_timestamp_s",
            key=record.key, site=record.site, etag=record.etag, size_bytes=record.size_bytes,
            upload_timestamp_s=record.upload_timestamp_s, expire_timestamp_s=record.expire_timestamp_s,
        )

    def object_keys(self, prefix: str) -> list[str]:
        """Every stored key that starts with `prefix` (compared exactly: no LIKE wildcards)."""
        low, high = _prefix_range(prefix)
        rows = self._query("SELECT key FROM objects WHERE key >= :low AND key < :high ORDER BY key", low=low, high=high)
        return [row["key"] for row in rows]

    def expired_objects(self, now_s: float) -> list[ObjectRecord]:
        """Objects whose expiry time has come, oldest first."""
        rows = self._query(
            "SELECT * FROM objects WHERE expire_timestamp_s IS NOT NULL AND expire_timestamp_s <= :now "
            "ORDER BY expire_timestamp_s",
            now=now_s,
        )
        return [ObjectRecord(**dict(row)) for row in rows]

    def forget_object(self, key: str) -> None:
        with self._tx() as conn:
            self._run(conn, "DELETE FROM objects WHERE key = :key", key=key)

    def recent_uploads(self, site: str | None, limit: int, since_s: float | None = None) -> list[ObjectRecord]:
        """Objects under `data/` with a valid name (those the real upload log records), newest
        first; `site` None means every site; `since_s` drops older ones (the log's expiry)."""
        where = ["substr(key, 1, 5) = 'data/'", "site IS NOT NULL"]
        if site is not None:
            where.append("site = :site")
        if since_s is not None:
            where.append("upload_timestamp_s >= :since")
        rows = self._query(
            f"SELECT * FROM objects WHERE {' AND '.join(where)} ORDER BY upload_timestamp_s DESC LIMIT :limit",
            site=site, since=since_s, limit=limit,
        )
        return [ObjectRecord(**dict(row)) for row in rows]

    def stored_files(self, prefix: str) -> list[tuple[str, float]]:
        """(key, upload time) of every stored object whose key starts with `prefix`."""
        low, high = _prefix_range(prefix)
        rows = self._query(
            "SELECT key, upload_timestamp_s FROM objects WHERE key >= :low AND key < :high ORDER BY key",
            low=low, high=high,
        )
        return [(row["key"], row["upload_timestamp_s"]) for row in rows]

    # --- images (the merged row per exposure) ------------------------------------------------

    def _ensure_image(self, conn: _Cursor, base: str, directory: str, site: str,
                      created_s: float | None = None) -> None:
        """The row of an exposure, created on its first file, dated by that file's arrival.

        The real row's `capture_date` and `sort_date` default to its creation time (LCOGT/ptr_data
        `lambda_service/db.py`, `Image.capture_date = Column(DateTime, default=datetime.utcnow)`),
        so a JPG whose header has not landed yet sorts by when it arrived, not last.
        """
        self._run(
            conn,
            "INSERT INTO images (base_filename, s3_directory, site, capture_date) "
            "VALUES (:base, :directory, :site, :created) ON CONFLICT (base_filename, s3_directory) DO NOTHING",
            base=base, directory=directory, site=site, created=self.clock() if created_s is None else created_s,
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
        assignments = ", ".join(f"{column} = :{column}" for column in values)
        with self._tx() as conn:
            self._ensure_image(conn, base, directory, site, record.upload_timestamp_s if record else None)
            self._run(
                conn,
                f"UPDATE images SET {assignments}, header = :header "
                "WHERE base_filename = :base AND s3_directory = :directory",
                **values, header=json.dumps(header), base=base, directory=directory,
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
        extra = {"jpg_medium_exists": ", jpg_medium_key = :key", "jpg_small_exists": ", jpg_small_key = :key"}
        with self._tx() as conn:
            self._ensure_image(conn, base, directory, site, record.upload_timestamp_s if record else None)
            self._run(
                conn,
                f"UPDATE images SET {flag} = 1{extra.get(flag, '')}, "
                "data_type = coalesce(CAST(:data_type AS TEXT), data_type) "
                "WHERE base_filename = :base AND s3_directory = :directory",
                key=key, data_type=data_type, base=base, directory=directory,
            )
            self._upsert_object(conn, record)

    def latest_images(self, site: str, limit: int, directory: str = "data") -> list[dict[str, Any]]:
        """Newest `sort_date` first (DATE-OBS, or arrival until the header lands), as the real
        `get_latest_site_images`; ties go to the newer row."""
        rows = self._query(
            "SELECT * FROM images WHERE site = :site AND s3_directory = :directory AND jpg_medium_exists = 1 "
            "ORDER BY capture_date DESC, image_id DESC LIMIT :limit",
            site=site, directory=directory, limit=limit,
        )
        return [dict(row) for row in rows]

    def filtered_images(self, where: list[tuple[str, Any]], limit: int, name_like: str | None = None
                        ) -> list[dict[str, Any]]:
        """Rows under `data/` with a medium JPG, newest `sort_date` first, matching every
        `(condition, value)` in `where` (conditions are written by the caller from a fixed list,
        never from request text, each with one `?` for its value, which is bound) and, when
        given, the real service's `base_filename.like(name_like)` (case-sensitive, as PostgreSQL)."""
        conditions = ["s3_directory = 'data'", "jpg_medium_exists = 1"]
        params: dict[str, Any] = {"limit": limit}
        for number, (condition, value) in enumerate(where):
            conditions.append(condition.replace("?", f":w{number}"))
            params[f"w{number}"] = value
        if name_like is not None:
            conditions.append(f"base_filename {self._sql.name_like} :name")
            params["name"] = rules.like_to_glob(name_like) if self.dialect == "sqlite" else name_like
        rows = self._query(
            f"SELECT * FROM images WHERE {' AND '.join(conditions)} "
            "ORDER BY capture_date DESC, image_id DESC LIMIT :limit",
            **params,
        )
        return [dict(row) for row in rows]

    def observe_rows(self, query: ImageQuery, limit: int) -> list[dict[str, Any]]:
        """A site's listed images under `data/` matching the observe page's filters, newest first.

        Plain, bound SQL with one condition per given filter, so it reads the same on SQLite and
        PostgreSQL: the file name is a case-insensitive substring (`LOWER(...) LIKE ... ESCAPE`),
        the user is a username or a user id.
        """
        conditions = ["site = :site", "s3_directory = 'data'", "jpg_medium_exists = 1"]
        params: dict[str, Any] = {"site": query.site, "limit": limit}
        for name, condition, value in (
            ("start", "capture_date >= :start", query.start_s), ("end", "capture_date <= :end", query.end_s),
            ("filter", "filter_used = :filter", query.filter),
            ("exposure_min", "exposure_time >= :exposure_min", query.exposure_min),
            ("exposure_max", "exposure_time <= :exposure_max", query.exposure_max),
        ):
            if value is not None:
                conditions.append(condition)
                params[name] = value
        if query.user is not None:
            conditions.append("(username = :user OR user_id = :user)")
            params["user"] = query.user
        if query.filename is not None:
            conditions.append("LOWER(base_filename) LIKE :filename ESCAPE '\\'")
            params["filename"] = "%" + _like_literal(query.filename.lower()) + "%"
        rows = self._query(
            f"SELECT * FROM images WHERE {' AND '.join(conditions)} "
            "ORDER BY capture_date DESC, image_id DESC LIMIT :limit",
            **params,
        )
        return [dict(row) for row in rows]

    def first_between(self, site: str, start_s: float, end_s: float) -> dict[str, Any] | None:
        """A site's earliest listed image captured in [start_s, end_s): the night's first image."""
        rows = self._query(
            "SELECT * FROM images WHERE site = :site AND s3_directory = 'data' AND jpg_medium_exists = 1 "
            "AND capture_date >= :start AND capture_date < :end ORDER BY capture_date, image_id LIMIT 1",
            site=site, start=start_s, end=end_s,
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
            "site = :site AND s3_directory = 'data' AND capture_date >= :start AND capture_date <= :end "
            "ORDER BY capture_date",
            site=site, start=start_s, end=end_s,
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
        after_site = "substr(base_filename, length(site) + 2)"
        rows = self._query(
            f"SELECT site, substr({after_site}, 1, nullif({self._sql.position}({after_site}, '-'), 0) - 1) AS inst, "
            "count(*) AS n FROM images WHERE s3_directory = :directory GROUP BY site, inst "
            "ORDER BY site, n DESC, inst",
            directory=directory,
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
            "WHERE s3_directory = :directory AND jpg_medium_exists = 1 GROUP BY site "
            "ORDER BY newest DESC, site",
            directory=directory,
        )
        return [row["site"] for row in rows]

    def has_header(self, base: str, directory: str) -> bool:
        rows = self._query(
            "SELECT header IS NOT NULL AS has FROM images WHERE base_filename = :base AND s3_directory = :directory",
            base=base, directory=directory,
        )
        return bool(rows and rows[0]["has"])

    def delete_image(self, base: str, directory: str) -> None:
        with self._tx() as conn:
            self._run(conn, "DELETE FROM images WHERE base_filename = :base AND s3_directory = :directory",
                      base=base, directory=directory)

    def image(self, base: str, directory: str | None = None) -> dict[str, Any] | None:
        """The row for a base filename; `data` wins over `info-images` when both exist."""
        if directory is None:
            rows = self._query(
                "SELECT * FROM images WHERE base_filename = :base ORDER BY s3_directory = 'data' DESC LIMIT 1",
                base=base,
            )
        else:
            rows = self._query(
                "SELECT * FROM images WHERE base_filename = :base AND s3_directory = :directory",
                base=base, directory=directory,
            )
        return dict(rows[0]) if rows else None

    # --- info channels -------------------------------------------------------------------------

    def set_info_channel(self, site: str, channel: int, base: str, now_s: float) -> None:
        with self._tx() as conn:
            self._run(
                conn,
                "INSERT INTO info_channels (site, channel, base_filename, updated_s) "
                "VALUES (:site, :channel, :base, :now) ON CONFLICT (site, channel) DO UPDATE SET "
                "base_filename = excluded.base_filename, updated_s = excluded.updated_s",
                site=site, channel=channel, base=base, now=now_s,
            )

    def channel_of(self, site: str, base: str) -> int | None:
        """The channel `base` was presigned for at `site`, if it is still on one."""
        rows = self._query(
            "SELECT channel FROM info_channels WHERE site = :site AND base_filename = :base ORDER BY channel LIMIT 1",
            site=site, base=base,
        )
        return rows[0]["channel"] if rows else None

    def info_channel(self, site: str, channel: int) -> str | None:
        rows = self._query(
            "SELECT base_filename FROM info_channels WHERE site = :site AND channel = :channel",
            site=site, channel=channel,
        )
        return rows[0]["base_filename"] if rows else None

    def reserve_numbers(self, site: str, inst: str, count: int, after: int) -> range | None:
        """Hand out `count` numbers no other caller of this site gets, in one write transaction.

        The camera's reservation row is made if missing, then locked by an UPDATE before it is
        read: on SQLite BEGIN IMMEDIATE already serialises every reservation (threads and
        processes alike); on PostgreSQL the row lock makes a second reservation wait for the
        first to commit and then read its result (READ COMMITTED reads afresh per statement).
        The reservation is committed before the caller hears of it, so two senders asking at the
        same moment get disjoint ranges. None when the camera's 8-digit space is full.
        """
        prefix = rules.data_key_prefix(site, inst)
        number_at = len(prefix) + rules.DATA_KEY_NUMBER_OFFSET + 1  # substr() counts from 1
        low, high = _prefix_range(prefix)
        number = f"substr(key, {number_at}, 8)"
        with self._tx() as conn:
            camera = {"site": site, "inst": inst}
            self._run(conn, "INSERT INTO number_reservations (site, inst, last) VALUES (:site, :inst, 0) "
                      "ON CONFLICT (site, inst) DO NOTHING", **camera)
            self._run(conn, "UPDATE number_reservations SET last = last WHERE site = :site AND inst = :inst", **camera)
            reserved = conn.scalar("SELECT last FROM number_reservations WHERE site = :site AND inst = :inst",
                                   **camera)
            stored = conn.scalar(
                f"SELECT max(CAST({number} AS INTEGER)) FROM objects "
                f"WHERE key >= :low AND key < :high AND {number} {self._sql.eight_digits}",
                low=low, high=high,
            )
            numbers = rules.next_numbers(count, after=after, reserved=reserved, stored=stored or 0)
            if numbers is not None:
                self._run(conn, "UPDATE number_reservations SET last = :last WHERE site = :site AND inst = :inst",
                          last=numbers.stop - 1, **camera)
        return numbers


def _is_outage(error: BaseException | None, invalidated: bool) -> bool:
    """A PostgreSQL error that says the server is gone or unreachable, not that a query is wrong:
    no SQLSTATE (the connection failed or broke), or class 08 (connection) or 57P (shutdown)."""
    if invalidated:
        return True
    sqlstate = getattr(error, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith(("08", "57P"))


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class _Cursor:
    """A DBAPI cursor that takes `:name` parameters and answers rows as dicts."""

    def __init__(self, cursor: Any, translate: Callable[[str], str]) -> None:
        self._cursor = cursor
        self._translate = translate

    def run(self, sql: str, **params: Any) -> _Cursor:
        self._cursor.execute(self._translate(sql), params)
        return self

    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        self.run(sql, **params)
        names = [column[0] for column in self._cursor.description]
        return [dict(zip(names, row, strict=True)) for row in self._cursor.fetchall()]

    def scalar(self, sql: str, **params: Any) -> Any:
        row = self.run(sql, **params)._cursor.fetchone()
        return row[0] if row else None


def held_by_message(database: str, owner: dict[str, Any]) -> str:
    """Who serves `database` already, as exactly as its owner row tells."""
    pid, host, url = owner.get("pid"), owner.get("host"), owner.get("api_url")
    who = f"pid {pid} on {host}" if pid and host else "another serve"
    where = f" at {url}" if url else " (still starting)"
    return f"the database {database} is already served by {who}{where}: stop that serve, or use another database"
