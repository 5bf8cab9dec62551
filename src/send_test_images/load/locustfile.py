"""The Locust side: one simulated user is one site camera sending exposures to Photon Ranch.

Run it with `send-test-images load ...` (which runs `locust -f` on this file) or with Locust
itself, `locust -f path/to/locustfile.py`, or from a locustfile of your own that does
`from send_test_images.load.locustfile import *`. Every Locust option works as usual (`-u`, `-r`,
`-t`, `--headless`, `--processes`, `--master`, `--worker`, `--csv`, `--html`); `--host` is the
Photon Ranch API (a URL, or `test`, `dev`, `prod`); our options are Locust custom arguments
(`options.py`), so the master hands them to its workers.

What Locust sees, per request type and name (the file kind: `00.txt`, `10.jpg`, `11.jpg`,
`10.fits.fz`, `00.fits.fz`):

- `presign`: each `POST {API}/upload`, timed, one per try;
- `s3 post`: each multipart POST to S3, timed, with the file's bytes, one per try;
- `exposure` (name: the camera profile): one per reserved exposure, its whole send time and
  bytes; a failure when any of its files was not sent (the Uploader gave up, or was refused, or
  the user was stopped), so Locust's failures table is the list of what was lost.

A failed try that a retry then fixed shows as a failed `presign`/`s3 post`, as a real site would
see it; the `exposure` line says whether it was fixed in the end. Each user sends through our
`Uploader` (retries, backoff, re-presigning an expired policy), over httpx, on sockets that
Locust's gevent has patched: users wait for the network cooperatively, hundreds per process.
The Uploader's client is `_ReportingClient`, which times each try and tells Locust, so client.py
needs no Locust hook.

Stopping without loss: this file makes Locust's `--stop-timeout` default 60 s, so a stopped user
finishes the exposure it is sending. In headless distributed runs Locust's master would otherwise
quit before its workers' last statistics arrive (it waits 0.5 s after telling them to quit); here
the master first asks every worker to stop its users, waits for each worker's last statistics and
ledger, and only then quits, so the final statistics count every file the workers sent.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import sys
import time
from typing import Any

import gevent
from gevent import GreenletExit
from gevent.event import AsyncResult
from locust import User, events, task
from locust.env import Environment
from locust.runners import STATE_STOPPED, MasterRunner, WorkerRunner

from send_test_images.errors import SendTestImagesError, UploadError
from send_test_images.load.camera import PlannedExposure, SimulatedCamera, user_seed
from send_test_images.load.ledger import Ledger, file_kind, reason
from send_test_images.load.names import camera_name, new_run_tag
from send_test_images.load.options import ARGUMENTS, DEFAULT_STOP_TIMEOUT, LoadOptions, resolve_host
from send_test_images.load.pool import FramePool, PoolKey
from send_test_images.sending.client import PhotonRanchClient, Source, Uploader, source_size

__all__ = ["SiteCamera"]

logger = logging.getLogger("send_test_images.load")
logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request would drown Locust's own

PRESIGN = "presign"
S3_POST = "s3 post"
EXPOSURE = "exposure"

DRAIN = "send_test_images_drain"
"""Master -> workers: stop your users now (gracefully) and send me your ledger."""
LEDGER = "send_test_images_ledger"
"""Worker -> master: this worker's ledger, after its last statistics."""
DRAIN_GRACE = 30.0
"""Seconds the master waits for ledgers beyond --stop-timeout (network, slow workers)."""


class _State:
    """What one Locust process (master, worker or local) keeps across users."""

    def __init__(self) -> None:
        self.ledger = Ledger()
        self.worker_ledgers: dict[str, Ledger] = {}
        self.waiting_for: set[str] = set()
        self.pools: dict[PoolKey, AsyncResult] = {}
        self.users = itertools.count()
        self.options: tuple[int, LoadOptions] | None = None


_state = _State()


# -- the simulated camera ---------------------------------------------------------------------


class ExposureNotSent(Exception):
    """An exposure of which some files were not sent; its text is what Locust's failures table shows."""


class _ReportingClient(PhotonRanchClient):
    """PhotonRanchClient that tells Locust about every try of both upload steps."""

    def __init__(self, api_url: str, environment: Environment, *, timeout: float) -> None:
        super().__init__(api_url, timeout=timeout)
        self._environment = environment

    def presign(self, object_name: str, s3_directory: str = "data", info_channel: int | None = None) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            answer = super().presign(object_name, s3_directory, info_channel)
        except UploadError as exc:
            self._fire(PRESIGN, object_name, started, 0, exc)
            raise
        self._fire(PRESIGN, object_name, started, 0, None)
        return answer

    def post_file(self, presigned: dict[str, Any], source: Source, filename: str) -> float:
        started = time.perf_counter()
        size = source_size(source, filename)
        try:
            seconds = super().post_file(presigned, source, filename)
        except UploadError as exc:
            self._fire(S3_POST, filename, started, 0, exc)
            raise
        self._fire(S3_POST, filename, started, size, None)
        return seconds

    def _fire(self, kind: str, object_name: str, started: float, size: int, error: UploadError | None) -> None:
        self._environment.events.request.fire(
            request_type=kind,
            name=file_kind(object_name),
            response_time=(time.perf_counter() - started) * 1000,
            response_length=size,
            exception=None if error is None else ExposureNotSent(reason(error)),
            context={},
        )


class SiteCamera(User):
    """One site camera: its own site code and instrument, sending an exposure per cadence."""

    def on_start(self) -> None:
        options = load_options(self.environment)
        api = resolve_host(self.host or self.environment.host)
        runner = self.environment.runner
        tag = options.run_tag or ""
        name = camera_name(tag, int(getattr(runner, "worker_index", 0)), next(_state.users))
        self.uploader = Uploader(
            api, retries=options.retries,
            client=_ReportingClient(api, self.environment, timeout=options.timeout),
        )
        key = PoolKey(options.camera, options.frame, options.files, options.fits_format, options.data_type,
                      options.pool_size, options.seed or 0)
        pool = None if options.fresh_frames else shared_pool(key)
        self.camera = SimulatedCamera(name, options, key, pool, seed=user_seed(options.seed, name.site, name.inst))
        self._next_start = time.monotonic()
        try:
            self.camera.start_after(self.uploader.client.highest_file_number(name.site, name.inst))
        except UploadError as exc:
            # Without it a repeated run tag could overwrite earlier files: refuse to send at all.
            logger.error("%s-%s: cannot read the highest file number it has sent: %s", name.site, name.inst, exc)
            raise

    def on_stop(self) -> None:
        uploader = getattr(self, "uploader", None)
        if uploader is not None:
            uploader.client.close()

    def wait_time(self) -> float:
        """Until this camera's next exposure starts (cadence counts from the last one's start)."""
        return max(0.0, self._next_start - time.monotonic())

    @task
    def expose(self) -> None:
        """Reserve a number, make the exposure's files, send each; report the exposure once."""
        started = time.perf_counter()
        self._next_start = time.monotonic() + self.camera.cadence()
        number = self.camera.reserve()
        exposure = in_thread(self.camera.expose, number)
        _state.ledger.reserve(len(exposure.files))
        sent_bytes = 0
        unsent: list[str] = []
        pending = list(exposure.files)
        try:
            while pending:
                file = pending[0]
                try:
                    result = self.uploader.send(file.data, str(file.name))
                except UploadError as exc:
                    _state.ledger.files_failed += 1
                    unsent.append(f"{file_kind(str(file.name))}: {reason(exc)}")
                else:
                    _state.ledger.files_sent += 1
                    _state.ledger.bytes_sent += result.bytes
                    sent_bytes += result.bytes
                pending.pop(0)
        except GreenletExit:
            _state.ledger.files_stopped += len(pending)
            reasons = [*unsent, f"{len(pending)} stopped by Locust (--stop-timeout ran out; the one in flight "
                                "may have reached S3)"]
            self._report(exposure, started, sent_bytes, reasons, len(unsent) + len(pending))
            raise
        if not unsent:
            _state.ledger.exposures_complete += 1
        self._report(exposure, started, sent_bytes, unsent, len(unsent))

    def _report(self, exposure: PlannedExposure, started: float, sent_bytes: int, unsent: list[str],
                not_sent: int) -> None:
        self.environment.events.request.fire(
            request_type=EXPOSURE,
            name=self.camera.options.camera.name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=sent_bytes,
            exception=ExposureNotSent(f"{not_sent} of {len(exposure.files)} files not sent: "
                                      + "; ".join(unsent)) if not_sent else None,
            context={"site": self.camera.name.site, "inst": self.camera.name.inst, "number": exposure.number},
        )


# -- helpers ----------------------------------------------------------------------------------


def in_thread(function: Any, *args: Any) -> Any:
    """Run CPU work in a real thread, so this process's heartbeats and other users keep going."""
    return gevent.get_hub().threadpool.apply(function, args)


def shared_pool(key: PoolKey) -> FramePool:
    """The process's pool for `key`, drawn once (in a thread) by the first user that needs it."""
    result = _state.pools.get(key)
    if result is None:
        result = _state.pools[key] = AsyncResult()
        try:
            started = time.perf_counter()
            result.set(in_thread(FramePool.build, key))
            logger.info("drew %d %s frame(s) for the pool in %.1f s (seed %d)", key.size, key.camera.name,
                        time.perf_counter() - started, key.seed)
        except BaseException as exc:
            result.set_exception(exc)
            raise
    return result.get()


def load_options(environment: Environment) -> LoadOptions:
    """The typed options of this process, read again only when Locust changes parsed_options."""
    parsed = environment.parsed_options
    stamp = hash(tuple(sorted((k, str(v)) for k, v in vars(parsed).items())))
    if _state.options is None or _state.options[0] != stamp:
        _state.options = (stamp, LoadOptions.from_namespace(parsed))
    return _state.options[1]


# -- Locust hooks -----------------------------------------------------------------------------


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    for argument in ARGUMENTS:
        extra = {"action": argument.action} if argument.action else {}
        parser.add_argument(argument.flag, default=argument.default, help=f"send-test-images: {argument.help}",
                            **extra)
    parser.set_defaults(stop_timeout=DEFAULT_STOP_TIMEOUT)


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.register_message(DRAIN, _drain_worker, concurrent=True)
        return
    if runner is not None and isinstance(runner, MasterRunner):
        runner.register_message(LEDGER, _receive_ledger)
    parsed = environment.parsed_options
    if parsed is None:
        return
    try:
        options = LoadOptions.from_namespace(parsed)
        if environment.host:
            resolve_host(environment.host)
    except SendTestImagesError as exc:
        logger.error("send-test-images: %s", exc)
        sys.exit(2)
    # The master decides what every worker must share; workers receive these with each spawn.
    if options.run_tag is None:
        parsed.run_tag = new_run_tag()
    if options.seed is None:
        parsed.seed = str(secrets.randbits(32))
    logger.info("run tag %s: site codes %s00, %s01, ... (one per worker), instruments c0, c1, ... "
                "(one per user); frame pool seed %s", parsed.run_tag, parsed.run_tag, parsed.run_tag, parsed.seed)


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_: Any) -> None:
    _state.ledger = Ledger()
    _state.worker_ledgers = {}


@events.test_stopping.add_listener
def _on_test_stopping(environment: Environment, **_: Any) -> None:
    """Headless master quitting: stop the workers' users first and wait for their last numbers."""
    runner = environment.runner
    parsed = environment.parsed_options
    if not isinstance(runner, MasterRunner) or parsed is None or not parsed.headless:
        return
    workers = runner.clients.ready + runner.clients.spawning + runner.clients.running
    _state.waiting_for = {worker.id for worker in workers}
    if not _state.waiting_for:
        return
    logger.info("asking %d worker(s) to finish their exposures and report", len(_state.waiting_for))
    runner.send_message(DRAIN)
    deadline = time.monotonic() + float(environment.stop_timeout or 0) + DRAIN_GRACE
    while _state.waiting_for and time.monotonic() < deadline:
        gevent.sleep(0.1)
    if _state.waiting_for:
        logger.warning("%d worker(s) did not report in time: the final statistics may miss their last files",
                       len(_state.waiting_for))


@events.test_stop.add_listener
def _on_test_stop(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        _send_last_numbers(runner)
        return
    total = Ledger()
    if isinstance(runner, MasterRunner):
        for ledger in _state.worker_ledgers.values():
            total.add(ledger)
    else:
        total = _state.ledger
    logger.info("%s", total.line())
    if total.unaccounted:
        logger.error("%d reserved file(s) are neither sent nor reported", total.unaccounted)
        environment.process_exit_code = 1
    parsed = environment.parsed_options
    try:
        options = load_options(environment) if parsed is not None else None
    except SendTestImagesError:
        options = None
    if options is not None and options.ledger is not None:
        total.write(options.ledger, run_tag=getattr(parsed, "run_tag", None))


def _send_last_numbers(runner: WorkerRunner) -> None:
    """A stopped worker's last statistics, then its ledger: in this order, on one connection."""
    send_stats = getattr(runner, "_send_stats", None)
    if send_stats is not None:
        send_stats()
    runner.send_message(LEDGER, _state.ledger.to_dict())


def _drain_worker(environment: Environment, msg: Any, **_: Any) -> None:
    runner = environment.runner
    if runner.state == STATE_STOPPED:
        _send_last_numbers(runner)
    else:
        runner.stop()  # graceful within --stop-timeout; its test_stop sends the last numbers


def _receive_ledger(environment: Environment, msg: Any, **_: Any) -> None:
    _state.worker_ledgers[msg.node_id] = Ledger.from_dict(msg.data)
    _state.waiting_for.discard(msg.node_id)
