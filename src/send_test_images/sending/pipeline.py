"""Generate in worker processes, upload in threads, with bounded queues in between.

    specs ──> generator processes ──> (in order) journal ──> file queue ──> N upload threads
              (at most workers×AHEAD   "exposure" line,      (bounded)       send, then journal
               exposures in flight)    --rate pacing                          "sent", drop spool

Generation is CPU work (numpy, compression), so it runs in processes; uploading waits on the
network, so threads do. Both queues are bounded, so however many exposures a run has, only a
few are ever between the two ends: memory and spool space stay flat. Files travel as paths (the
generator writes them to the spool), never as bytes through a pipe.

An exposure is released to the uploaders in number order, once its files are on disk and its
journal line is written. A file is marked sent only after S3's 204. Stopping (Ctrl-C, the end of
--duration) lets the upload in flight finish, and everything not marked sent stays owed.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from send_test_images import defaults
from send_test_images.errors import GenerationError, UploadError
from send_test_images.exitcodes import ExitCode
from send_test_images.exposure.spec import ExposureSpec
from send_test_images.sending import spool
from send_test_images.sending.client import Uploader
from send_test_images.sending.events import FileFailed, FileSent, Observer, ignore
from send_test_images.sending.journal import FileEntry, Journal
from send_test_images.sending.summary import RunStats

AHEAD_PER_WORKER = 2
"""Exposures each generator may have in flight, so none waits while the next spec is sent."""
FILES_QUEUED_PER_UPLOADER = 4
"""Files waiting per upload thread; bounds the spool to a few exposures whatever -r is."""
START_METHOD = "forkserver"
"""Workers fork from a server that already imported numpy and astropy (~0.4 s each otherwise),
and not from this process with its threads and sockets."""
PRELOAD = ["send_test_images.sending.spool"]
DEFAULT_HALT_GRACE = 5.0
"""Seconds Ctrl-C waits for uploads in flight; one that takes longer is left to finish or not,
and stays owed either way (its 204 would arrive after the journal is closed)."""


WORKERS_DIED = (
    "a generation worker process died; if you call send_test_images from your own script, put the call "
    "under `if __name__ == '__main__':` (workers re-import that script) or pass --workers 0"
)


def refuse_in_a_starting_worker() -> None:
    """Stop a worker that is re-running an unguarded calling script, before it does anything.

    Without `if __name__ == '__main__':`, each forkserver/spawn worker re-runs the caller's
    script while it starts, and so the whole command again: it would reserve numbers, journal
    exposures and start pools of its own, which fail and leak semaphores. Exiting here kills
    only the worker; the parent notices the dead pool and says `WORKERS_DIED`, once. Python
    marks that start-up phase with `_inheriting`, the same flag its own check reads.
    """
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise SystemExit(ExitCode.FAILED)


class _Stopped(Exception):
    """Raised inside an upload's backoff sleep when the run is stopping: give up quietly."""


@dataclass(frozen=True)
class SendSettings:
    """Where and how fast one run sends, as `sending.run.Run` works it out.

    Not checked again here: every value comes from a record that checked itself
    (`sending.options.SendOptions`, `Destination`, `RunRequest`, or the journal's `RunRecord`).
    """

    s3_directory: str = defaults.S3_DIRECTORY
    info_channel: int | None = None
    concurrency: int = defaults.CONCURRENCY
    workers: int = defaults.WORKERS
    rate: float | None = None
    duration: float | None = None
    keep_files: bool = False
    keep_truth: bool = False


@dataclass
class Outcome:
    """How the pipeline ended; the counters are in `RunStats`."""

    interrupted: bool = False
    out_of_time: bool = False
    last_released: int | None = None


@dataclass(frozen=True)
class _FileJob:
    number: int
    entry: FileEntry


class Pipeline:
    """One run's sending machinery; `run()` once, from the main thread (Ctrl-C lands there)."""

    def __init__(
        self,
        api_url: str,
        journal: Journal,
        stats: RunStats,
        settings: SendSettings,
        *,
        spool_dir: Path,
        uploader_options: dict[str, Any] | None = None,
        observe: Observer = ignore,
    ) -> None:
        self.journal = journal
        self.stats = stats
        self.observe = observe
        self.settings = settings
        self.spool_dir = spool_dir
        self._stop = threading.Event()
        self._queue: queue.Queue[_FileJob | None] = queue.Queue(
            maxsize=settings.concurrency * FILES_QUEUED_PER_UPLOADER
        )
        self._uploader = Uploader(
            api_url,
            **(uploader_options or {}),
            sleep=self._backoff_sleep,
            on_retry=stats.retried,
        )
        self._threads = [
            threading.Thread(target=self._upload_loop, name=f"upload-{i}", daemon=True)
            for i in range(settings.concurrency)
        ]
        self._released = 0
        self._started = 0.0
        self._outcome = Outcome()

    # -- the main thread ------------------------------------------------------------------

    def run(self, owed: Iterable[tuple[int, list[FileEntry]]], specs: Iterable[ExposureSpec]) -> Outcome:
        """Send `owed` (already made and journaled), then make and send every spec."""
        self._started = time.monotonic()
        for thread in self._threads:
            thread.start()
        try:
            if all(self._release(number, files, journal=False) for number, files in owed):
                self._generate_and_release(iter(specs))
            for _ in self._threads:
                self._queue.put(None)
            for thread in self._threads:
                thread.join()
        except KeyboardInterrupt:
            self._outcome.interrupted = True
            with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C: stop waiting
                self._halt()
        finally:
            self._uploader.close()
        return self._outcome

    def _generate_and_release(self, specs: Iterator[ExposureSpec]) -> None:
        workers = self.settings.workers
        pool = _make_pool(workers) if workers > 0 else None
        ahead = max(1, workers * AHEAD_PER_WORKER)
        pending: deque[Future[spool.SpooledExposure]] = deque()
        try:
            exhausted = False
            while True:
                while not exhausted and len(pending) < ahead:
                    spec = next(specs, None)
                    if spec is None:
                        exhausted = True
                    else:
                        pending.append(self._submit(pool, spec))
                if not pending:
                    return
                try:
                    made = pending.popleft().result()
                except BrokenProcessPool as exc:
                    raise GenerationError(WORKERS_DIED) from exc
                if not self._release(made.number, made.files, journal=True):
                    _discard(made.files)
                    return
        finally:
            for future in pending:
                future.cancel()
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            for future in pending:  # made, but never journaled: nothing owes them
                if future.done() and not future.cancelled() and future.exception() is None:
                    _discard(future.result().files)

    def _submit(self, pool: ProcessPoolExecutor | None, spec: ExposureSpec) -> Future[spool.SpooledExposure]:
        keep_truth = self.settings.keep_truth
        if pool is not None:
            return pool.submit(spool.spool_exposure, spec, self.spool_dir, keep_truth)
        future: Future[spool.SpooledExposure] = Future()
        future.set_result(spool.spool_exposure(spec, self.spool_dir, keep_truth))
        return future

    def _release(self, number: int, files: list[FileEntry], *, journal: bool) -> bool:
        """Hand one exposure to the uploaders at its --rate time; False once --duration is over."""
        settings = self.settings
        due = self._started + (self._released / settings.rate if settings.rate else 0.0)
        deadline = self._started + settings.duration if settings.duration else None
        if deadline is not None and due >= deadline:
            self._outcome.out_of_time = True
            return False
        if (wait := due - time.monotonic()) > 0:
            self._stop.wait(wait)
        if deadline is not None and time.monotonic() >= deadline:
            self._outcome.out_of_time = True
            return False
        if journal:
            self.journal.add_exposure(number, files)
        self.stats.expect(number, len(files))
        for entry in files:
            self._queue.put(_FileJob(number, entry))
        self._released += 1
        self._outcome.last_released = number
        return True

    def _halt(self) -> None:
        """Ctrl-C: no new uploads; the ones in flight finish (their backoff sleeps end at once)."""
        self._stop.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        for _ in self._threads:
            try:
                self._queue.put_nowait(None)
            except queue.Full:
                break
        deadline = time.monotonic() + DEFAULT_HALT_GRACE
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # -- upload threads ---------------------------------------------------------------------

    def _upload_loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if not self._stop.is_set():
                self._send(job)

    def _send(self, job: _FileJob) -> None:
        settings = self.settings
        key = f"{settings.s3_directory}/{job.entry.name}"
        try:
            result = self._uploader.send(
                job.entry.path, job.entry.name, settings.s3_directory, settings.info_channel
            )
        except _Stopped:
            return
        except UploadError as exc:
            self.journal.mark_failed(job.entry.name, str(exc))
            self.stats.failed(exc)
            self.observe(FileFailed(key, exc))
            return
        self.journal.mark_sent(job.entry.name, result.key, result.attempts)
        if not settings.keep_files:
            spool.discard(job.entry.path)
        self.stats.sent(job.number, result)
        self.observe(FileSent(result))

    def _backoff_sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise _Stopped


def _discard(files: list[FileEntry]) -> None:
    for entry in files:
        spool.discard(entry.path)


def _ignore_sigint() -> None:
    """Ctrl-C is the main process's to handle; a worker dying of it would only print noise."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _make_pool(workers: int) -> ProcessPoolExecutor:
    methods = multiprocessing.get_all_start_methods()
    method = START_METHOD if START_METHOD in methods else "spawn"
    context = multiprocessing.get_context(method)
    if method == START_METHOD:
        context.set_forkserver_preload(PRELOAD)
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_ignore_sigint)
