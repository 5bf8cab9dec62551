"""One run of sending, owned from its first reserved number to its last settled file.

    Run.start(request, api_url)        reserve numbers (all at once, or a block at a time for
                                       --duration) and journal the run (a records.RunRecord)
    Run.reopen(run_id, api_url, ...)   lock the journal, re-plan its exposures exactly, and work
                                       out what is owed (made but unsent, or never made)
    run.send()                         the pipeline: generate, journal, upload
    run.settle(outcome)                trim what a timed run never reached, mark it done when
                                       nothing is owed, and total it up (a RunResult)

`up` and `resume` are the two ways through it: `send_new(request)` and `resume(run_id)`, each a
few lines, so a new run and a resumed one settle, count and report in the very same code.
Exposures are planned one at a time (`exposure.plan.PlannedBlock`), for a new run and a resumed one:
memory does not grow with `-r`.
`connect` gives the API URL, starting the local site for `local`. Nothing here prints: each step
is told to an observer as a typed event (sending/events.py), and the results are returned.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from send_test_images import defaults, paths
from send_test_images.errors import JournalError, SendTestImagesError, UsageError
from send_test_images.exitcodes import ExitCode
from send_test_images.exposure.options import BatchOptions, parse_time
from send_test_images.exposure.plan import DEFAULT_OVERHEAD, PlannedBlock, new_seed, run_start, template_spec
from send_test_images.exposure.presets import get_preset
from send_test_images.exposure.spec import ExposureSpec
from send_test_images.sending import journal as journal_mod
from send_test_images.sending import numbering, spool, targets
from send_test_images.sending.client import PhotonRanchClient
from send_test_images.sending.events import (
    Event,
    NothingOwed,
    NothingToResume,
    Observer,
    RunOwes,
    RunReopened,
    RunResult,
    RunSettled,
    RunSkipped,
    RunStarted,
    SendingStopped,
    SiteDone,
    SiteStarted,
    SiteStarting,
    ignore,
)
from send_test_images.sending.journal import FileEntry, Journal, RunState
from send_test_images.sending.options import RunRequest, SendOptions
from send_test_images.sending.pipeline import Outcome, Pipeline, SendSettings, refuse_in_a_starting_worker
from send_test_images.sending.records import RunRecord
from send_test_images.sending.summary import RunStats, summarize, write_report

LOCAL_SITE_FOLDER = "site"

Owed = list[tuple[int, list[FileEntry]]]
"""Exposures made and journaled but not (wholly) sent: number -> the files still owed."""


def local_site_dir(data: Path | None) -> Path:
    """The local site's data folder: `data`, or `site` in the user data directory."""
    return data if data is not None else paths.data_dir() / LOCAL_SITE_FOLDER


@contextlib.contextmanager
def connect(target: str, data: Path | None, observe: Observer = ignore) -> Iterator[str]:
    """The API URL to send to; for `local`, a running `serve` on `data`, or a site started now.

    A site started here waits (briefly) for ingestion to catch up and stops when the block ends.
    """
    if not targets.is_local(target):
        yield target
        return
    from send_test_images.localsite import LocalSite  # late: starting a site is the only use

    folder = local_site_dir(data)
    if LocalSite.connect(folder) is None:  # starting weed and the API takes seconds: say so first
        observe(SiteStarting(folder))
    site = LocalSite.connect_or_start(folder)
    try:
        if site.owned:
            observe(SiteStarted(site.api_url))
        yield site.api_url
        if site.owned:
            site.wait_idle(defaults.INGEST_WAIT)
        observe(SiteDone(site.api_url, site.owned, data))
    finally:
        site.stop()


def check(request: RunRequest) -> int:
    """Plan the run's first and last exposure, so any bad value is refused before anything starts
    (every option, and a clock that would run out of range); the run's seed.

    Not every exposure: `-r 200000000` would take minutes, and the specs in between add nothing.
    """
    batch = request.batch
    seed = batch.seed if batch.seed is not None else new_seed()
    PlannedBlock(batch, range(1, 1 + batch.count), seed=seed).check()
    return seed


def send_new(request: RunRequest, *, observe: Observer = ignore) -> RunResult:
    """`up`: check, connect, start, send and settle a new run; what it sent and what it owes."""
    refuse_in_a_starting_worker()
    seed = check(request)
    if request.out_dir is not None:
        request.out_dir.mkdir(parents=True, exist_ok=True)
    destination = request.destination
    with (
        connect(destination.target, destination.data, observe) as api_url,
        Run.start(request, api_url, seed=seed, observe=observe) as run,
    ):
        return run.settle(run.send())


def unfinished_runs_or_skip(observe: Observer) -> list[str]:
    """Every journaled run that still owes something, oldest first; a journal that cannot be read
    is told (`RunSkipped`), not raised."""
    owing = []
    for one in journal_mod.list_runs():
        try:
            finished = journal_mod.read(one).finished
        except SendTestImagesError as exc:
            observe(RunSkipped(one, str(exc)))
            continue
        if not finished:
            owing.append(one)
    return owing


def resume(
    run_id: str | None,
    sending: SendOptions | None = None,
    *,
    api: str | None = None,
    observe: Observer = ignore,
) -> list[RunResult]:
    """`resume`: finish the given run (or every unfinished one), each to the API it used.

    `api` (`resume --api`, a run id only) sends the run somewhere else from now on: the site
    moved, say, to another port; the journal records it, so a later resume goes there too.

    Stops after a run that Ctrl-C interrupted; a run with nothing left gives no result. Without a
    run id, a run that cannot be finished (its journal unreadable, its exposures impossible to
    make: a run that crashed after reserving) is told as `RunSkipped`, with why, and the others
    are still finished; the caller's exit code should say something was skipped.
    """
    refuse_in_a_starting_worker()
    sending = sending or SendOptions()
    if api is not None and run_id is None:
        raise UsageError(
            "resume --api is not allowed without a run id: name the run that moved (`resume RUN_ID --api URL`)"
        )
    if run_id is not None:
        run_ids = [journal_mod.check_run_id(run_id)]
    else:
        skipped: list[RunSkipped] = []

        def tell(event: Event) -> None:
            if isinstance(event, RunSkipped):
                skipped.append(event)
            observe(event)

        run_ids = unfinished_runs_or_skip(tell)
        if not run_ids:
            if not skipped:  # "every run has sent everything" would not be true
                observe(NothingToResume(journal_mod.runs_dir()))
            return []
    results: list[RunResult] = []
    for one in run_ids:
        try:
            result = _resume_one(one, sending, api, observe)
        except SendTestImagesError as exc:
            if run_id is not None:
                raise
            observe(RunSkipped(one, str(exc)))
            continue
        if result is None:
            continue
        results.append(result)
        if result.exit_code == ExitCode.INTERRUPTED:
            break
    return results


def _resume_one(run_id: str, sending: SendOptions, api: str | None, observe: Observer) -> RunResult | None:
    state = journal_mod.read(run_id)
    if state.done:
        observe(NothingOwed(run_id))
        return None
    record = state.record  # refused here, before anything starts, if this version cannot read it
    target = api if api is not None else state.target or record.target
    if api is not None and api != (state.target or record.target):
        with journal_mod.opened(run_id) as journal:
            journal.retarget(api)
    with (
        connect(target, record.data, observe) as api_url,
        Run.reopen(run_id, api_url, sending, observe=observe) as run,
    ):
        return run.settle(run.send())


class Run:
    """One run: its journal (held, locked), what it sends and owes, and how it sends it.

    Made by `start` (a new run) or `reopen` (a journaled one); then `send()` once and
    `settle()` once; `close()` (or the `with` block) releases the journal.
    """

    def __init__(
        self,
        journal: Journal,
        record: RunRecord,
        api_url: str,
        settings: SendSettings,
        sending: SendOptions,
        *,
        owed: Owed,
        specs: Iterable[ExposureSpec],
        planned: int | None,
        observe: Observer,
    ) -> None:
        self.journal = journal
        self.record = record
        self.api_url = api_url
        self.settings = settings
        self.sending = sending
        self.owed = owed
        self.specs = specs
        self.planned = planned
        self.observe = observe
        self.stats = RunStats(exposures_planned=planned)  # made again as sending starts: its clock
        self.spool_dir = record.out_dir if record.out_dir is not None else spool.spool_dir(record.run_id)

    @property
    def run_id(self) -> str:
        return self.record.run_id

    @classmethod
    def start(cls, request: RunRequest, api_url: str, *, seed: int, observe: Observer = ignore) -> Run:
        """Journal a new run and reserve its first numbers (what the server already holds is skipped)."""
        batch, destination, sending = request.batch, request.destination, request.sending
        site_numbers = _SiteNumbers(api_url, batch, sending.timeout)
        after = None
        if batch.time is None:  # a run on the clock starts after the site's newest exposure ended
            with PhotonRanchClient(api_url, timeout=sending.timeout) as client:
                after = client.newest_exposure_end(batch.site)
        record = RunRecord(
            run_id=journal_mod.new_run_id(batch.site),
            target=destination.target,
            data=local_site_dir(destination.data) if targets.is_local(destination.target) else None,
            s3_directory=destination.s3_directory,
            info_channel=destination.info_channel,
            out_dir=request.out_dir.resolve() if request.out_dir is not None else None,
            options=batch,
            seed=seed,
        )
        journal = Journal.create(record)
        try:
            blocks = _Blocks(batch, journal, seed=seed, server_highest=site_numbers.highest,
                             duration=request.duration, cap=request.cap, server=site_numbers.reserve,
                             not_before=after)
            first = blocks.reserve_first()
            wanted = request.exposures_wanted
            settings = SendSettings(
                s3_directory=destination.s3_directory,
                info_channel=destination.info_channel,
                concurrency=concurrency_for(sending, record.options),
                workers=workers_for(sending.workers, wanted, draws_pixels=batch.draws_pixels),
                rate=sending.rate,
                duration=request.duration,
                keep_files=request.out_dir is not None,
                keep_truth=request.out_dir is not None,  # and a preset's archive FITS: kept, not sent
            )
            observe(RunStarted(record.run_id, api_url, batch.site, first.start, seed, batch.repeat,
                               request.duration, request.cap))
        except BaseException:
            journal.close()
            raise
        return cls(journal, record, api_url, settings, sending, owed=[], specs=blocks.specs(),
                   planned=None if request.duration else batch.count, observe=observe)

    @classmethod
    def reopen(cls, run_id: str, api_url: str, sending: SendOptions, *, observe: Observer = ignore) -> Run:
        """Take a journaled run's lock and work out what it owes; spooled files are sent as they are,
        and exposures whose files are gone (or were never made) are made again, identically."""
        journal = Journal.reopen(run_id)
        try:
            state = journal_mod.read(run_id)  # again, now that we hold the lock
            record = state.record
            if state.timed and state.trimmed_after is None:
                # A timed run that was killed: it promised a stream, not a count. What it never
                # made is not owed (as at the normal end of a timed run); what it made is.
                last = state.last_made()
                state.trimmed_after = last if last is not None else state.plans[0].start - 1
                journal.trim(state.trimmed_after)
            owed: Owed = []
            cleared: list[int] = []
            for number, files in state.unsent().items():
                if all(Path(f.path).is_file() for f in files):
                    owed.append((number, files))
                else:  # the spool was cleared: make the same exposure again, under the same names
                    cleared.append(number)
            to_make = len(cleared) + state.count_ungenerated()
            specs = replan_numbers(record.options, state, heapq.merge(sorted(cleared), state.iter_ungenerated()))
            settings = SendSettings(
                s3_directory=record.s3_directory,
                info_channel=record.info_channel,
                concurrency=concurrency_for(sending, record.options),
                workers=workers_for(sending.workers, to_make, draws_pixels=record.options.draws_pixels),
                rate=sending.rate,
                keep_files=record.out_dir is not None,
                keep_truth=record.out_dir is not None,
            )
            observe(RunReopened(run_id, api_url, sum(len(f) for _, f in owed), len(owed), to_make))
        except BaseException:
            journal.close()
            raise
        return cls(journal, record, api_url, settings, sending, owed=owed, specs=specs,
                   planned=len(owed) + to_make, observe=observe)

    def send(self) -> Outcome:
        """Send what is owed, then make and send every planned exposure; counted in `self.stats`."""
        self.stats = RunStats(exposures_planned=self.planned)  # the pipeline tells SendingStarted
        try:
            pipeline = Pipeline(
                self.api_url, self.journal, self.stats, self.settings, spool_dir=self.spool_dir,
                uploader_options=self.sending.uploader_options(), observe=self.observe,
            )
            outcome = pipeline.run(self.owed, self.specs)
        finally:
            self.observe(SendingStopped(self.stats))
        self.stats.stop_clock()
        return outcome

    def settle(self, outcome: Outcome) -> RunResult:
        """Bring the journal up to date with the outcome and total the run up.

        A timed run promised a stream, not a count: numbers it reserved but never reached are
        trimmed, not owed. A run that owes nothing is marked done and its spool removed. Then
        `RunSettled`, the --report file, and `RunOwes` when something is left.
        """
        state = journal_mod.read(self.run_id)
        stopped = outcome.out_of_time or outcome.interrupted or outcome.target_down is not None
        if self.settings.duration is not None and stopped:
            last = outcome.last_released if outcome.last_released is not None else state.plans[0].start - 1
            self.journal.trim(last)
            state.trimmed_after = last
        unsent = state.unsent()
        files_left = sum(len(files) for files in unsent.values())
        made_left = state.count_ungenerated()
        if not files_left and not made_left:
            self.journal.mark_done()
            if not self.settings.keep_files:
                spool.remove_if_empty(self.spool_dir)
        summary = summarize(
            self.stats, run_id=self.run_id, api_url=self.api_url, files_left=files_left,
            exposures_not_made=made_left, exposures_left=len(unsent) + made_left, interrupted=outcome.interrupted,
        )
        result = RunResult(self.run_id, self.api_url, self.stats, summary, files_left, made_left,
                           outcome.interrupted, outcome.target_down, exposures_unsent=len(unsent))
        self.observe(RunSettled(result))
        if self.sending.report is not None:
            write_report(self.sending.report, summary)
        if result.owes:
            self.observe(RunOwes(result))
        return result

    def close(self) -> None:
        self.journal.close()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def replan_numbers(options: BatchOptions, state: RunState, numbers: Iterable[int]) -> Iterator[ExposureSpec]:
    """The specs of `numbers` (ascending, all journaled), exactly as first planned, one at a time."""
    entries = sorted(state.plans, key=lambda entry: entry.start)  # the counter only moves forward
    at = 0
    block: PlannedBlock | None = None
    for number in numbers:
        while at < len(entries) and number >= entries[at].stop:
            at, block = at + 1, None
        if at == len(entries) or number < entries[at].start:
            raise JournalError(f"run {state.run_id}: number {number} is in none of its plans ({state.path})")
        if block is None:
            block = _planned_block(options, entries[at])
        yield block.spec(number - entries[at].start)


def _planned_block(options: BatchOptions, entry: journal_mod.PlanEntry) -> PlannedBlock:
    block = replace(
        options,
        repeat=len(entry.numbers) // options.smartstack,
        time=parse_time(entry.time) if entry.time is not None else None,
    )
    return PlannedBlock(block, entry.numbers, seed=entry.seed, now=dt.datetime.fromisoformat(entry.now))


def workers_for(requested: int, exposures: int | None, *, draws_pixels: bool = True) -> int:
    """Generator processes worth starting for `exposures` (None: a timed run, no bound).

    A process pays once for its first exposure (the catalogue, the camera's fixed pattern, ...),
    and the pipeline makes a run's first exposure in the run's own process, before any worker
    forks from it (`pipeline.Pipeline._make_first`), so workers are for the exposures after it:
    a run of one or two makes them all here, without a process that would pay for its own start
    to make one exposure. Nor does a run that draws no pixels (`-f h`): a header alone takes
    ~5 ms to write, less than handing it over from a worker would.
    """
    if not draws_pixels:
        return 0
    if exposures is None:
        return min(requested, defaults.WORKERS)
    if exposures <= 2:
        return 0
    return min(requested, exposures - 1)


def concurrency_for(sending: SendOptions, options: BatchOptions) -> int:
    """--concurrency if given; else what the run's preset sends with (a real site: one at a time,
    so a resumed `--like` run keeps its order), else the default."""
    if sending.concurrency is not None:
        return sending.concurrency
    if options.like is not None:
        return get_preset(options.like).concurrency
    return defaults.CONCURRENCY


class _SiteNumbers:
    """What the site can say about file numbers, each asked only when a reservation needs it.

    The local site reserves each block itself (`POST /numbers/reserve`, counting what it stores),
    so two machines sending for one camera through one site never share a number. The real
    Photon Ranch has no such service (README: "File numbers never collide" says exactly what
    holds there): then each machine counts after the highest number the server lists, asked
    once per run, and the service is not asked again for a timed run's later blocks.
    """

    def __init__(self, api_url: str, batch: BatchOptions, timeout: float) -> None:
        self.api_url, self.batch, self.timeout = api_url, batch, timeout
        self._no_service = False
        self._highest: list[int | None] = []  # [] until asked

    def reserve(self, count: int, after: int) -> range | None:
        if self._no_service:
            return None
        with PhotonRanchClient(self.api_url, timeout=self.timeout) as client:
            block = client.reserve_numbers(self.batch.site, self.batch.inst, count, after)
        self._no_service = block is None
        return block

    def highest(self) -> int | None:
        if not self._highest:
            with PhotonRanchClient(self.api_url, timeout=self.timeout) as client:
                self._highest.append(client.highest_file_number(self.batch.site, self.batch.inst))
        return self._highest[0]


class _Blocks:
    """File numbers for a run, reserved before the exposures that use them are made.

    A counted run reserves all its numbers at once; a timed run (--duration) reserves them a
    block at a time as it goes, since nobody knows how many it will need. Each block is
    journaled with its seed and clock, so `resume` plans the very same exposures again.
    """

    def __init__(
        self,
        options: BatchOptions,
        journal: Journal,
        *,
        seed: int,
        server_highest: int | Callable[[], int | None] | None,
        duration: float | None,
        cap: int | None,
        server: numbering.ServerReservation | None = None,
        not_before: dt.datetime | None = None,
    ) -> None:
        self.options = options
        self.journal = journal
        self.seed = seed
        self.server_highest = server_highest
        self.server = server
        self.timed = duration is not None
        self.left = cap if self.timed else options.repeat
        self._first: PlannedBlock | None = None
        self._blocks = 0
        self._planned = 0
        template = template_spec(options, 1, seed=seed)
        self._cadence = dt.timedelta(seconds=template.frame.exptime + DEFAULT_OVERHEAD)
        self._after = not_before
        """Without --time: the end of the newest exposure at the site, then of this run's last block."""

    def reserve_first(self) -> range:
        self._first = self._reserve()
        return self._first.numbers

    def _reserve(self) -> PlannedBlock:
        exposures = defaults.DURATION_BLOCK if self.timed else self.options.repeat
        if self.left is not None:
            exposures = min(exposures, self.left)
            self.left -= exposures
        # With --time, block after block continues the run's clock; without, each ends now unless
        # that would overlap what the site already shows (or this run's previous block): then it
        # starts after it, and that start is journaled so resume plans the same clock.
        now = dt.datetime.now(dt.UTC)
        start = self.options.time + self._cadence * self._planned if self.options.time else None
        block = replace(self.options, repeat=exposures, time=start)
        if self.options.time is None:
            ends_now = run_start(block.count, self._cadence, now, None)
            begins = run_start(block.count, self._cadence, now, self._after)
            if begins != ends_now:
                block = replace(block, time=begins)
            last = begins + self._cadence * max(0, block.count - 1)
            self._after = last + self._cadence - dt.timedelta(seconds=DEFAULT_OVERHEAD)
        self._planned += block.count
        numbers = numbering.reserve(
            self.options.site, self.options.inst, block.count, server_highest=self.server_highest,
            server=self.server,
        )
        seed = self.seed if self._blocks == 0 else new_seed()
        self._blocks += 1
        self.journal.add_plan(numbers, seed=seed, now=now, time=block.time, stream=self.timed)
        return PlannedBlock(block, numbers, seed=seed, now=now)

    def specs(self) -> Iterator[ExposureSpec]:
        block = self._first if self._first is not None else self._reserve()
        while True:
            yield from block
            if self.left is not None and self.left <= 0:
                return
            block = self._reserve()
