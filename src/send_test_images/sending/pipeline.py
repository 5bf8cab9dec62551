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

Two more ways to stop, so a broken run ends in seconds with one line instead of a traceback or
minutes of failures:

- the target is down: `BREAKER_FAILURES` files in a row given up on for a connection-kind reason
  (refused, reset, timeout, 5xx after the retries; not a 4xx refusal of one file) stop the run
  like Ctrl-C does, and `Outcome.target_down` says why. A dead `weed` under `serve` used to keep
  `up` generating and failing for 524 s (3660 failed tries).
- the run cannot go on (an exposure cannot be made or spooled, the journal cannot be written: a
  full disk): the pipeline halts the same way and `run()` raises that one error.

Generator processes die with this process (`lifeline`), even when it is SIGKILLed.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import sys
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
from send_test_images.errors import GenerationError, SendTestImagesError, UploadError, UsageError
from send_test_images.exitcodes import ExitCode
from send_test_images.exposure.spec import ExposureSpec
from send_test_images.sending import lifeline, spool
from send_test_images.sending.client import Uploader
from send_test_images.sending.events import FileFailed, FileSent, Observer, SendingStarted, ignore
from send_test_images.sending.journal import FileEntry, Journal
from send_test_images.sending.summary import RunStats

AHEAD_PER_WORKER = 2
"""Exposures each generator may have in flight, so none waits while the next spec is sent."""
FILES_QUEUED_PER_UPLOADER = 4
"""Files waiting per upload thread; bounds the spool to a few exposures whatever -r is."""
FORK = "fork"
"""How workers start when this process has no other thread (`_make_pool`)."""
START_METHOD = "forkserver"
"""Otherwise workers fork from a server that already imported numpy and astropy (~0.4 s each
otherwise), and not from this process with its threads and sockets."""
PRELOAD = ["send_test_images.sending.forkserver_preload", "send_test_images.sending.spool"]
"""Imported by the forkserver before it forks workers; the first one makes it die with this
process and ignore Ctrl-C (see `lifeline`), as early as possible."""
DEFAULT_HALT_GRACE = 5.0
"""Seconds Ctrl-C waits for uploads in flight; one that takes longer is left to finish or not,
and stays owed either way (its 204 would arrive after the journal is closed)."""


BREAKER_FAILURES = 5
"""Files in a row given up on because the target could not be reached, before the run stops.
A file counts only once its 1 + --retries tries (with backoff) are spent, so a brief hiccup is
absorbed by the retries; a file refused with a 4xx does not count, and any success starts the
count again. Five in a row means the target stayed unreachable through several backoffs."""

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
    target_down: str | None = None
    """Why the run stopped early because the target could not be reached (the last error)."""


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
            on_retry=self._retried,
        )
        self._threads = [
            threading.Thread(target=self._upload_loop, name=f"upload-{i}", daemon=True)
            for i in range(settings.concurrency)
        ]
        self._released = 0
        self._started = 0.0
        self._outcome = Outcome()
        self._fatal: SendTestImagesError | None = None
        self._unreachable_in_a_row = 0
        self._breaker_lock = threading.Lock()
        self._per_thread = threading.local()

    # -- the main thread ------------------------------------------------------------------

    def run(self, owed: Iterable[tuple[int, list[FileEntry]]], specs: Iterable[ExposureSpec]) -> Outcome:
        """Send `owed` (already made and journaled), then make and send every spec."""
        self._started = time.monotonic()
        pool: ProcessPoolExecutor | None = None
        specs = iter(specs)
        try:
            try:
                # Generator processes first, while this is the only thread: then they are forked
                # from it in milliseconds, with everything imported (see `_make_pool`). Before
                # them, the first exposure is made here: what a process computes once (the star
                # catalogue, the camera's fixed pattern, ...) is then inherited by every worker.
                workers = self.settings.workers
                made_here = self._make_first(specs) if workers > 0 and _can_fork() else None
                pool = _make_pool(workers) if workers > 0 else None
                # Only now: a progress bar's redraw thread would have kept the workers from forking.
                self.observe(SendingStarted(self.stats))
                for thread in self._threads:
                    thread.start()
                if all(self._release(number, files, journal=False) for number, files in owed):
                    self._generate_and_release(specs, pool, made_here)
            except SendTestImagesError as exc:  # cannot make, spool or journal: stop, then say so
                self._fail(exc)
            if self._fatal is not None:
                self._halt()
            else:
                for _ in self._threads:
                    self._queue.put(None)
                for thread in self._threads:
                    thread.join()
        except KeyboardInterrupt:
            self._outcome.interrupted = True
            with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C: stop waiting
                self._halt()
        finally:
            if pool is not None:  # already shut down, unless sending stopped before generating
                pool.shutdown(wait=True, cancel_futures=True)
            self._uploader.close()
        if self._fatal is not None:
            raise self._fatal
        return self._outcome

    def _fail(self, error: SendTestImagesError) -> None:
        """The run cannot go on (from any thread): the first such error is the one told."""
        with self._breaker_lock:
            if self._fatal is None:
                self._fatal = error
        self._stop.set()

    def _make_first(self, specs: Iterator[ExposureSpec]) -> tuple[int, Future[spool.SpooledExposure]] | None:
        """The run's first exposure, made in this process before the workers fork from it.

        A process pays for its first exposure once: the star catalogue read and indexed, the
        camera's fixed pattern, the noise table, PIL's plugins (~0.25 s of CPU at sq768, ten
        exposures' worth). Workers forked afterwards inherit all of it, so it is paid once per
        run instead of once per worker, and it is not extra work: the exposure is the run's.
        """
        spec = _next_spec(specs)
        return None if spec is None else (spec.number, self._submit(None, spec))

    def _generate_and_release(
        self,
        specs: Iterator[ExposureSpec],
        pool: ProcessPoolExecutor | None,
        made_here: tuple[int, Future[spool.SpooledExposure]] | None = None,
    ) -> None:
        ahead = max(1, self.settings.workers * AHEAD_PER_WORKER) if pool is not None else 1
        pending: deque[tuple[int, Future[spool.SpooledExposure]]] = deque()  # (number, its making)
        if made_here is not None:
            pending.append(made_here)
        try:
            exhausted = False
            while True:
                if self._stop.is_set():  # the target is down, or an upload thread hit a dead end
                    return
                while not exhausted and len(pending) < ahead:
                    spec = _next_spec(specs)
                    if spec is None:
                        exhausted = True
                    else:
                        pending.append((spec.number, self._submit(pool, spec)))
                if not pending:
                    return
                spec_number, making = pending.popleft()
                try:
                    made = making.result()
                except BrokenProcessPool as exc:
                    raise GenerationError(WORKERS_DIED) from exc
                except SendTestImagesError:
                    raise
                except Exception as exc:  # any bug or full disk in a worker: one line
                    raise GenerationError(
                        f"exposure {spec_number} could not be made: {_describe(exc)}"
                    ) from exc
                if not self._release(made.number, made.files, journal=True):
                    _discard(made.files)
                    return
        finally:
            for _, future in pending:
                future.cancel()
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            for _, future in pending:  # made, but never journaled: nothing owes them
                if future.done() and not future.cancelled() and future.exception() is None:
                    _discard(future.result().files)

    def _submit(self, pool: ProcessPoolExecutor | None, spec: ExposureSpec) -> Future[spool.SpooledExposure]:
        keep_truth = self.settings.keep_truth
        if pool is not None:
            return pool.submit(spool.spool_exposure, spec, self.spool_dir, keep_truth)
        future: Future[spool.SpooledExposure] = Future()
        try:
            future.set_result(spool.spool_exposure(spec, self.spool_dir, keep_truth))
        except Exception as exc:  # told like a worker's, when its turn comes
            future.set_exception(exc)
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
        if self._stop.is_set():
            return False
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
            if thread.ident is not None:  # Ctrl-C may come while the generator processes start
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
        self._per_thread.retries = 0
        try:
            result = self._uploader.send(
                job.entry.path, job.entry.name, settings.s3_directory, settings.info_channel
            )
        except _Stopped:
            self.stats.stopped(self._per_thread.retries)
            return
        except UploadError as exc:
            self.stats.failed(exc, retries=self._per_thread.retries)
            self.observe(FileFailed(key, exc))
            self._count_unreachable(exc)
            self._journal(self.journal.mark_failed, job.entry.name, str(exc))
            return
        with self._breaker_lock:
            self._unreachable_in_a_row = 0
        # Sent but not journaled (a full disk): it stays owed, and resume sends the same bytes
        # to the same key again.
        if not self._journal(self.journal.mark_sent, job.entry.name, result.key, result.attempts):
            return
        if not settings.keep_files:
            spool.discard(job.entry.path)
        self.stats.sent(job.number, result)
        self.observe(FileSent(result))

    def _journal(self, write: Any, *args: Any) -> bool:
        """A journal write from an upload thread; a failure stops the run (it is raised by `run`)."""
        try:
            write(*args)
        except SendTestImagesError as exc:
            self._fail(exc)
            return False
        return True

    def _count_unreachable(self, error: UploadError) -> None:
        """The circuit breaker: enough files in a row that could not reach the target stop the run."""
        unreachable = error.retryable and (error.status is None or error.status >= 500)
        with self._breaker_lock:
            self._unreachable_in_a_row = self._unreachable_in_a_row + 1 if unreachable else 0
            tripped = self._unreachable_in_a_row >= BREAKER_FAILURES and self._outcome.target_down is None
            if tripped:
                self._outcome.target_down = str(error)
        if tripped:
            self._stop.set()

    def _retried(self, error: UploadError) -> None:
        self.stats.retried(error)
        self._per_thread.retries = getattr(self._per_thread, "retries", 0) + 1

    def _backoff_sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise _Stopped


def _discard(files: list[FileEntry]) -> None:
    for entry in files:
        spool.discard(entry.path)


def _next_spec(specs: Iterator[ExposureSpec]) -> ExposureSpec | None:
    """The next spec, or None at the end; specs are planned as they are asked for (lazily), so a
    value no planning check caught (a clock out of range on resume, say) is one line here too."""
    try:
        return next(specs, None)
    except UsageError as exc:  # a journaled value this version no longer allows: not this command's usage
        raise GenerationError(f"the next exposure could not be planned: {exc}") from exc
    except SendTestImagesError:
        raise
    except Exception as exc:
        raise GenerationError(f"the next exposure could not be planned: {_describe(exc)}") from exc


def _start_forkserver_deaf_to_ctrl_c() -> None:
    """Start the forkserver with SIGINT blocked, so it never sees a Ctrl-C, from its first instant.

    A terminal's Ctrl-C reaches the whole process group. The forkserver ignores SIGINT only once
    its imports are done (its own and `PRELOAD`, about a second), and a Ctrl-C before that printed
    a KeyboardInterrupt traceback from inside multiprocessing. A blocked signal stays blocked
    across fork and exec, so the forkserver, and every worker it forks, is born deaf to it; here
    the mask is restored right after the spawn and a Ctrl-C that came meanwhile is delivered
    then. (multiprocessing's resource tracker is started the same way, bpo-33613.)
    """
    from multiprocessing import forkserver, resource_tracker

    if not hasattr(signal, "pthread_sigmask"):
        forkserver.ensure_running()
        return
    # First the tracker the forkserver starts: it *unblocks* SIGINT after its own spawn.
    resource_tracker.ensure_running()
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def _describe(error: BaseException) -> str:
    """An exception as one line: its own words, with its type when they do not say it."""
    if isinstance(error, OSError) and error.strerror:
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror}{where}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _make_pool(workers: int) -> ProcessPoolExecutor:
    """`workers` generator processes, forked from this one when that is safe, else from a forkserver.

    `up` has imported numpy, astropy and the exposure code before it sends (planning needs them),
    so a worker forked from it starts in milliseconds. A forkserver is a new interpreter that
    imports them all again (~0.5 s of CPU, on the critical path of every run: a third of a
    20-exposure run's start-up). Forking is safe only from a process with no other thread (a
    thread holding a lock at the fork would leave it held in the child for good), so a process
    with threads of its own (a local site started in-process, a caller's script with threads)
    keeps the forkserver. Linux only: macOS frameworks do not survive fork.
    """
    if _can_fork():
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(FORK),
                                   initializer=lifeline.worker_started)
        _fork_workers_deaf_to_ctrl_c(pool)
        return pool
    methods = multiprocessing.get_all_start_methods()
    method = START_METHOD if START_METHOD in methods else "spawn"
    context = multiprocessing.get_context(method)
    if method == START_METHOD:
        context.set_forkserver_preload(PRELOAD)
        _start_forkserver_deaf_to_ctrl_c()
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=lifeline.worker_started)


def _can_fork() -> bool:
    """Whether workers can be forked from this process now (`_make_pool`)."""
    return FORK in multiprocessing.get_all_start_methods() and sys.platform.startswith("linux") \
        and threading.active_count() == 1


def _fork_workers_deaf_to_ctrl_c(pool: ProcessPoolExecutor) -> None:
    """Fork every worker now, from this thread, with SIGINT blocked.

    A fork pool forks all its workers at its first submit, before it starts its own thread; a
    no-op submitted here makes that happen while this is still the only thread. A worker inherits
    Python's SIGINT handler until its initializer ignores SIGINT: born with SIGINT blocked, a
    Ctrl-C in between never reaches it (the mask is restored here right after the forks).
    """
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        pool.submit(os.getpid)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
