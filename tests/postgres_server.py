"""A real PostgreSQL server for the tests: Debian's binaries, loopback only, in a temp directory.

`initdb` refuses to run as root, so when the tests run as root (CI does) the cluster belongs to
`nobody` and the server runs as that user. The server is our child and is killed with us
(PR_SET_PDEATHSIG, as weed is), so a test run that dies leaves no server behind; `stop` ends it
cleanly and removes its directory. Every site gets a database of its own (`new_database`).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from send_test_images.localsite.s3server import child_preexec

BIN_DIRS = ("/usr/lib/postgresql/*/bin", "/usr/local/bin", "/usr/bin")
"""Where Debian's `postgresql` package puts initdb and postgres (not on PATH), then elsewhere."""
START_TIMEOUT_S = 30.0
STOP_GRACE_S = 10.0
UNPRIVILEGED_USER = "nobody"
FAST_AND_UNSAFE = ("-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off")
"""A test cluster is thrown away at the end: no durability needed, and fsyncs cost CI time."""


def find_postgres_bin() -> Path | None:
    """The directory holding both `initdb` and `postgres`, newest PostgreSQL first; None if absent."""
    for pattern in BIN_DIRS:
        for found in sorted(glob.glob(pattern), reverse=True):
            if (Path(found) / "initdb").exists() and (Path(found) / "postgres").exists():
                return Path(found)
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """One throw-away cluster on 127.0.0.1 (and a unix socket in its own directory)."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="sti-postgres-"))
        self.port = _free_port()
        self._user: int | None = None
        self._group: int | None = None
        if os.geteuid() == 0:
            account = pwd.getpwnam(UNPRIVILEGED_USER)
            self._user, self._group = account.pw_uid, account.pw_gid
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self.process: subprocess.Popen[bytes] | None = None
        self._names = itertools.count(1)

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run_as_owner(self, command: list[str]) -> None:
        subprocess.run(command, check=True, capture_output=True, user=self._user, group=self._group,
                       extra_groups=[] if self._user is not None else None)

    def start(self) -> PostgresServer:
        """Make the cluster and start the server on it."""
        self._run_as_owner([str(self.bin_dir / "initdb"), "-D", str(self.root / "data"), "-U", "postgres",
                            "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"])
        return self.resume()

    def resume(self) -> PostgresServer:
        """Start the server on the cluster (again, after `halt`): same port, same data."""
        with (self.root / "postgres.log").open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.bin_dir / "postgres"), "-D", str(self.root / "data"), "-h", "127.0.0.1",
                 "-p", str(self.port), "-k", str(self.root), *FAST_AND_UNSAFE],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, user=self._user, group=self._group,
                extra_groups=[] if self._user is not None else None, preexec_fn=child_preexec(),
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                psycopg.connect(self.admin_url, connect_timeout=2).close()
                return self
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    tail = (self.root / "postgres.log").read_text(errors="replace")[-2000:]
                    self.stop()
                    raise RuntimeError(f"PostgreSQL did not start on port {self.port}:\n{tail}") from None
                time.sleep(0.1)

    def halt(self) -> None:
        """Stop the server now (a database outage), keeping its data for `resume`.

        SIGINT is PostgreSQL's fast shutdown: it ends every client's session at once, where
        SIGTERM would wait for the clients to leave.
        """
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def new_database(self) -> str:
        """A fresh, empty database's URL (one per site, so no test sees another's rows)."""
        name = f"site{next(self._names)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        self.halt()
        shutil.rmtree(self.root, ignore_errors=True)
