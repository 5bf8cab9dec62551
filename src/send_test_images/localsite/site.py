"""Start and stop the whole local Photon Ranch: weed, the ingestion watcher and the API.

Everything lives in one data dir and survives restarts (S3 objects in `s3/`, rows in
`site.sqlite3`). One site per data dir: an flock on `site.lock` is held while it runs (the
kernel drops it if the process dies), and `site.json` says where it answers, so a command can
reuse a running `serve` instead of starting a second S3 server on the same files.

On real engines (`serve --db postgresql://...`, `--s3-endpoint URL`) the rows and the objects
live there instead; the data dir keeps the lock, `site.json` and the logs, and the database is
held by the site as exclusively as the data dir (`SiteDB.claim`: an advisory lock).
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import httpx
import uvicorn

from send_test_images.errors import LocalSiteError
from send_test_images.localsite.bucketpoll import BucketPoller
from send_test_images.localsite.db import SiteDB, database_url, shown
from send_test_images.localsite.expiry import DEFAULT_EXPIRY_CHECK_S, Expirer
from send_test_images.localsite.ingest import Ingestor
from send_test_images.localsite.s3direct import DirectS3
from send_test_images.localsite.s3endpoint import ExternalS3, S3Endpoint
from send_test_images.localsite.s3server import DEFAULT_HOST, Ports, S3Server, find_weed
from send_test_images.localsite.stream import DataStream
from send_test_images.localsite.watch import BucketWatcher
from send_test_images.localsite.web.app import make_app
from send_test_images.localsite.web.context import DEFAULT_MAX_UPLOAD_BYTES, ApiContext

LOCK_NAME = "site.lock"
SITE_JSON = "site.json"
DEFAULT_API_START_TIMEOUT = 10.0
DEFAULT_HEALTH_TIMEOUT = 2.0
DEFAULT_STOP_DRAIN = 2.0
"""On stop, how long to let ingestion finish what already landed (the rest is reconciled on
the next start)."""
DEFAULT_POLL_INTERVAL = 0.02
DEFAULT_SIGNAL_POLL = 0.5
S3_DIED = (
    "{problem}: uploads and reads cannot work without it, so serve stops now. Run serve again "
    "to start a new one; the images in {data_dir} are kept."
)
"""What serve says when its weed is gone (one line, on stderr)."""
DEFAULT_CLAIM_CHECK_S = 5.0
"""How often `serve` checks that it still holds its PostgreSQL database's lock."""
DATABASE_TAKEN = "{problem}; this serve lost its claim while the database was away, so it stops now"
OPEN_HOST_WARNING = (
    "WARNING: serving on {host}, not only on this machine: anyone who can reach this address can "
    "read and upload images (there is no authentication). Use --host 127.0.0.1 to keep it local."
)


def open_host_warning(host: str) -> str | None:
    """What to tell the user who binds beyond this machine; None for a loopback address."""
    return None if is_loopback(host) else OPEN_HOST_WARNING.format(host=host)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _lock_data_dir(data_dir: Path) -> IO[str]:
    """Hold the data dir's flock, or say who holds it."""
    handle = (data_dir / LOCK_NAME).open("a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise LocalSiteError(held_by_message(data_dir, read_site_json(data_dir))) from None
    return handle


def held_by_message(data_dir: Path, info: dict[str, Any] | None) -> str:
    """Who holds the data dir, as exactly as `site.json` tells: pid and URL once it answers,
    the pid alone while it starts, or, when `site.json` is not written yet or names a process
    that is gone (left by a serve that was killed), that some other serve is starting.

    A serve writes `site.json` with its pid right after it takes the lock and again, with its
    URLs, once the API answers, so the first two cases cover all but a moment of its start.
    """
    pid = info.get("pid") if info else None
    url = info.get("api_url") if info else None
    if not isinstance(pid, int) or not _alive(pid):
        return (
            f"{data_dir} is locked by another serve that is still starting: retry in a few "
            "seconds, or choose another data dir"
        )
    if not isinstance(url, str):
        return (
            f"{data_dir} is being served by pid {pid}, which is still starting (its URL is not "
            "known yet): retry in a few seconds, or choose another data dir"
        )
    return (
        f"{data_dir} is already served by pid {pid} at {url}: use that site, stop it, "
        "or choose another data dir"
    )


def _alive(pid: int) -> bool:
    """True while process `pid` exists (signal 0 checks without sending anything)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, run by someone else
    return True


def read_site_json(data_dir: Path) -> dict[str, Any] | None:
    try:
        info = json.loads((Path(data_dir) / SITE_JSON).read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def _healthy(api_url: str, timeout: float = DEFAULT_HEALTH_TIMEOUT) -> dict[str, Any] | None:
    try:
        answer = httpx.get(f"{api_url}/health", timeout=timeout)
        body = answer.json()
    except (httpx.HTTPError, ValueError):
        return None
    return body if answer.status_code == 200 and isinstance(body, dict) and body.get("ok") else None


class LocalSite:
    """A running local site (ours, or a `serve` found in the same data dir)."""

    def __init__(self, data_dir: Path, api_url: str, s3_url: str, *, owned: bool) -> None:
        self.data_dir = Path(data_dir)
        self.api_url = api_url
        self.s3_url = s3_url
        self.owned = owned
        self.pid = os.getpid()
        self.s3_start_seconds: float | None = None
        self._parts: list[Any] = []
        self._lock_handle: IO[str] | None = None
        self._ingestor: Ingestor | None = None
        self._expirer: Expirer | None = None
        self._s3: S3Server | ExternalS3 | None = None
        self._db: SiteDB | None = None

    # --- starting ----------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        data_dir: Path | str,
        host: str = DEFAULT_HOST,
        port: int = 0,
        *,
        weed: Path | None = None,
        clock: Callable[[], float] = time.time,
        expiry_check_s: float = DEFAULT_EXPIRY_CHECK_S,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
        db: str | None = None,
        s3_endpoint: S3Endpoint | None = None,
    ) -> LocalSite:
        """Start weed, the watcher and the API on `host:port` (0 = a free port).

        `clock` is what expiry and the API call "now" (tests move it instead of waiting 300 s);
        `max_upload_bytes` goes into every presigned POST as its size limit. `db` (a PostgreSQL
        URL) and `s3_endpoint` replace SQLite in the data dir and the embedded weed.
        """
        data = Path(data_dir).expanduser().resolve()
        data.mkdir(parents=True, exist_ok=True)
        site = cls(data, "", "", owned=True)
        site._lock_handle = _lock_data_dir(data)
        try:
            site._write_site_json()  # the pid at once, so a racing start can name it
            site._start_parts(host, port, weed, clock, expiry_check_s, max_upload_bytes, db, s3_endpoint)
        except BaseException:
            site.stop()
            raise
        return site

    def _start_parts(
        self,
        host: str,
        port: int,
        weed: Path | None,
        clock: Callable[[], float],
        expiry_check_s: float,
        max_upload_bytes: int,
        db_url: str | None,
        s3_endpoint: S3Endpoint | None,
    ) -> None:
        api = _ApiThread(host, port)  # first, so a taken port fails before weed starts
        self._parts.append(api)
        db = SiteDB(database_url(db_url, self.data_dir), clock=clock)  # before weed: a bad --db costs nothing
        self._parts.append(db)
        db.claim(self._owner())
        self._db = db
        s3: S3Server | ExternalS3 = S3Server(self.data_dir, host=host, weed=weed) if s3_endpoint is None \
            else ExternalS3(s3_endpoint)
        self._parts.append(s3)
        s3.start()
        self._s3 = s3
        self.s3_url, self.s3_start_seconds = s3.url, s3.start_seconds

        keys = s3.credentials
        direct = DirectS3(s3.url, s3.bucket, keys.access_key, keys.secret_key, s3.region)
        self._parts.append(direct)
        stream = DataStream()
        ingestor = Ingestor(db, s3.client(), direct, clock=clock, stream=stream)
        ingestor.start()
        self._parts.append(ingestor)
        self._ingestor = ingestor
        watcher = _watcher(s3, ingestor, weed)
        watcher.start()
        self._parts.append(watcher)
        if isinstance(watcher, BucketWatcher):
            ingestor.reconcile()  # a poller's first listing is its reconcile
        expirer = Expirer(db, s3.client(), s3.bucket, clock=clock, interval=expiry_check_s)
        expirer.start()
        self._parts.append(expirer)
        self._expirer = expirer

        context = ApiContext(
            db=db, s3=s3.client(), direct=direct, bucket=s3.bucket, s3_url=s3.url, clock=clock,
            max_upload_bytes=max_upload_bytes, s3_problem=s3.problem, stream=stream,
        )
        self.api_url = api.start(make_app(context))
        self._write_site_json()
        db.set_owner(self._owner())

    def _owner(self) -> dict[str, Any]:
        """Who serves the database, for the message a second `serve` on it gets."""
        return {"pid": self.pid, "host": socket.gethostname(), "api_url": self.api_url or None,
                "data_dir": str(self.data_dir)}

    def _write_site_json(self) -> None:
        """Where this site answers; while it starts, only its pid (the URLs are null)."""
        info = {
            "pid": self.pid,
            "api_url": self.api_url or None,
            "s3_url": self.s3_url or None,
            "s3_pid": self.s3_pid,
        }
        path = self.data_dir / SITE_JSON
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(info, indent=2))
        temporary.replace(path)

    @classmethod
    def connect(cls, data_dir: Path | str) -> LocalSite | None:
        """The `serve` running on this data dir, if one answers /health; else None."""
        data = Path(data_dir).expanduser().resolve()
        info = read_site_json(data)
        if not info or not isinstance(info.get("api_url"), str):
            return None
        health = _healthy(info["api_url"])
        if health is None:
            return None
        site = cls(data, info["api_url"], str(health.get("s3_url", "")), owned=False)
        site.pid = int(info.get("pid", 0))
        return site

    @classmethod
    def connect_or_start(
        cls, data_dir: Path | str, host: str = DEFAULT_HOST, port: int = 0
    ) -> LocalSite:
        """Reuse a running `serve` on this data dir, or start a private site (stopped by stop())."""
        running = cls.connect(data_dir)
        return running if running is not None else cls.start(data_dir, host, port)

    # --- running -----------------------------------------------------------------------------

    @property
    def s3_pid(self) -> int | None:
        """The pid of this site's weed (only for a site we own, while it runs)."""
        return self._s3.pid if self._s3 is not None else None

    @property
    def s3_ports(self) -> Ports | None:
        """Every port of this site's weed (only for a site we own, while it runs)."""
        return self._s3.ports if self._s3 is not None else None

    def s3_problem(self) -> str | None:
        """Why this site's S3 cannot serve, as one line; None when it answers (or not ours)."""
        return self._s3.problem() if self._s3 is not None else None

    def s3_exited(self) -> str | None:
        """Why this site's weed is gone, from the process alone; None while it runs (or not ours).

        `serve` stops on this, not on a slow answer, so a busy weed never stops a site.
        """
        return self._s3.exit_problem() if self._s3 is not None else None

    def database_taken(self) -> str | None:
        """Why this site no longer owns its PostgreSQL database (another serve took it while our
        session was lost), as one line; None while it does, and for SQLite or a site not ours.
        A lost session's lock is taken again here (`SiteDB.keep_claim`)."""
        return self._db.keep_claim() if self._db is not None else None

    def wait_idle(self, timeout: float) -> bool:
        """True once every object that landed so far is ingested (only for a site we own)."""
        if self._ingestor is None:
            raise LocalSiteError(f"the site at {self.api_url} runs in pid {self.pid}, not here")
        return self._ingestor.wait_idle(timeout)

    def sweep_expired(self) -> list[str]:
        """Delete what has expired right now instead of at the next periodic check; the keys."""
        if self._expirer is None:
            raise LocalSiteError(f"the site at {self.api_url} runs in pid {self.pid}, not here")
        return self._expirer.sweep()

    def stop(self) -> None:
        """Stop what we started, newest first; a connected site is left running."""
        if self._ingestor is not None:
            self._ingestor.wait_idle(DEFAULT_STOP_DRAIN)
        parts, self._parts = self._parts, []
        for part in reversed(parts):
            stop = getattr(part, "stop", None) or part.close
            stop()
        self._ingestor = None
        self._expirer = None
        self._s3 = None
        self._db = None
        if self._lock_handle is not None:
            info = read_site_json(self.data_dir)
            if info and info.get("pid") == self.pid:
                with contextlib.suppress(OSError):
                    (self.data_dir / SITE_JSON).unlink()
            self._lock_handle.close()
            self._lock_handle = None

    def __enter__(self) -> LocalSite:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _watcher(s3: S3Server | ExternalS3, ingestor: Ingestor, weed: Path | None) -> BucketWatcher | BucketPoller:
    """Who tells ingestion that an object landed: weed's own change stream for the embedded S3,
    a listing every second for an external one (the only thing every S3 speaks)."""
    if isinstance(s3, ExternalS3):
        return BucketPoller(s3.client(), s3.bucket, ingestor.submit)
    return BucketWatcher(
        weed=weed or find_weed(),
        filer_address=s3.filer_address,
        bucket=s3.bucket,
        on_object=ingestor.submit,
        on_restart=ingestor.reconcile,
        log_path=s3.log_path,
    )


class _ApiThread:
    """uvicorn on a socket we bound ourselves (so port 0 gives a known port), in a thread."""

    def __init__(self, host: str, port: int) -> None:
        # The protocol must be named: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose
        # `proto` is IPPROTO_TCP, and a socket made with proto 0 reports 0. With Nagle on, every
        # request after the first on a kept-alive connection waited ~40 ms for a delayed ACK.
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((host, port))
        except OSError as exc:
            self.sock.close()
            raise LocalSiteError(
                f"cannot listen on {host}:{port} ({exc}): choose another port"
            ) from exc
        self.sock.listen()
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    def start(self, app: Any, timeout: float = DEFAULT_API_START_TIMEOUT) -> str:
        host, port = self.sock.getsockname()[:2]
        # http="auto" takes httptools (a dependency: a third less CPU per request than h11)
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name="localsite-api",
            daemon=True,
        )
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise LocalSiteError(f"the API did not start on {host}:{port} within {timeout:g} s")
            time.sleep(DEFAULT_POLL_INTERVAL)
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join()
        self.sock.close()


def serve(
    data_dir: Path | str,
    host: str = DEFAULT_HOST,
    port: int = 0,
    *,
    out: IO[str] = sys.stdout,
    err: IO[str] | None = None,
    db: str | None = None,
    s3_endpoint: S3Endpoint | None = None,
) -> int:
    """Run the local site until Ctrl-C or SIGTERM; prints the API URL first. Returns 0, or 1
    when the S3 server died under it.

    Any host but loopback is allowed (the caller asked for it explicitly) with a warning on `err`.
    If weed dies (killed, out of memory), every upload and read would fail from then on, so
    serve says so on `err` and stops, rather than answer errors: running it again starts a new
    weed on the same data, which loses nothing. Restarting weed in place is not done, because
    its URL is held by the API's presigner, the ingestion and expiry clients and the watcher.
    An external S3 (`s3_endpoint`) and database (`db`) are not ours: their outages are 503s
    with retry advice until they come back, and serve keeps running.
    """
    warning = open_host_warning(host)
    if warning:
        print(warning, file=err or sys.stderr, flush=True)
    stopping = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        with LocalSite.start(data_dir, host, port, db=db, s3_endpoint=s3_endpoint) as site:
            print(f"Local Photon Ranch API: {site.api_url}", file=out)
            if s3_endpoint is None:
                print(f"Local S3 (weed):        {site.s3_url}", file=out)
            else:
                print(f"External S3:            {site.s3_url} (bucket {s3_endpoint.bucket})", file=out)
            if db is not None:
                print(f"Database:               {shown(database_url(db, site.data_dir))}", file=out)
            print(f"Observe page:           {site.api_url}/", file=out)
            print(f"Data:                   {site.data_dir}  (Ctrl-C to stop)", file=out, flush=True)
            next_claim_check = time.monotonic() + DEFAULT_CLAIM_CHECK_S
            while not stopping.wait(DEFAULT_SIGNAL_POLL):
                problem = site.s3_exited()
                if problem is not None:
                    print(S3_DIED.format(problem=problem, data_dir=site.data_dir),
                          file=err or sys.stderr, flush=True)
                    return 1
                if time.monotonic() >= next_claim_check:
                    next_claim_check = time.monotonic() + DEFAULT_CLAIM_CHECK_S
                    taken = site.database_taken()
                    if taken is not None:
                        print(DATABASE_TAKEN.format(problem=taken), file=err or sys.stderr, flush=True)
                        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
