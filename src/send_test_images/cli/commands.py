"""The commands behind the CLI: plain values in, an exit code out, progress as lines of text.

`cli.py` parses; this module decides what a run does: validate everything, reserve numbers,
make each exposure's files, send or write them, and say plainly what happened to every file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any, TextIO

from send_test_images import paths
from send_test_images.errors import UsageError
from send_test_images.exitcodes import ExitCode
from send_test_images.exposure.plan import (
    DEFAULT_OVERHEAD,
    BatchOptions,
    check_destination,
    new_seed,
    parse_time,
    plan,
    template_spec,
)
from send_test_images.exposure.products import make_exposure
from send_test_images.exposure.spec import ExposureSpec
from send_test_images.sending import journal as journal_mod
from send_test_images.sending import numbering, spool, targets
from send_test_images.sending.client import DEFAULT_TIMEOUT, PhotonRanchClient
from send_test_images.sending.journal import FileEntry
from send_test_images.sending.pipeline import (
    DEFAULT_CONCURRENCY,
    DEFAULT_WORKERS,
    Pipeline,
    SendSettings,
    refuse_in_a_starting_worker,
)
from send_test_images.sending.progress import Progress, is_terminal
from send_test_images.sending.summary import RunStats, format_summary, summarize, write_report

PROG = "send-test-images"

LOCAL_SITE_FOLDER = "site"
DEFAULT_INGEST_WAIT = 5.0
"""When `up` started its own local site, how long it waits for ingestion before stopping it."""
DEFAULT_DURATION_BLOCK = 100
"""Exposures whose numbers a timed run (--duration) reserves at a time."""


def local_site_dir(data: Path | None) -> Path:
    return data if data is not None else paths.data_dir() / LOCAL_SITE_FOLDER


def batch_options(values: Mapping[str, Any]) -> BatchOptions:
    known = {f.name for f in fields(BatchOptions)}
    chosen = {k: v for k, v in values.items() if k in known}
    chosen["time"] = parse_time(values.get("time"))
    if chosen.get("repeat") is None:  # -r not given: one exposure (a timed run has no count)
        chosen["repeat"] = 1
    return BatchOptions(**chosen)


def dispatch(command: str, values: Mapping[str, Any], *, out: TextIO, err: TextIO) -> int:
    refuse_in_a_starting_worker()
    if command == "up":
        return run_up(
            batch_options(values),
            api=values.get("api"),
            s3_directory=values["s3dir"],
            channel=values["channel"],
            out_dir=values.get("out"),
            dry_run=values.get("dry_run", False),
            data=values.get("data"),
            timeout=values.get("timeout"),
            retries=values.get("retries"),
            out=out,
            err=err,
            concurrency=values.get("concurrency") or DEFAULT_CONCURRENCY,
            workers=_or_default(values.get("workers"), DEFAULT_WORKERS),
            rate=values.get("rate"),
            duration=values.get("duration"),
            repeat_cap=values.get("repeat"),
            report=values.get("report"),
        )
    if command == "resume":
        return run_resume(
            values.get("run_id"),
            concurrency=values.get("concurrency") or DEFAULT_CONCURRENCY,
            workers=_or_default(values.get("workers"), DEFAULT_WORKERS),
            rate=values.get("rate"),
            timeout=values.get("timeout"),
            retries=values.get("retries"),
            report=values.get("report"),
            out=out,
            err=err,
        )
    if command == "make":
        return run_make(batch_options(values), out_dir=values["out"], first_number=values["number"], out=out)
    if command == "serve":
        from send_test_images.localsite import serve

        return serve(local_site_dir(values.get("data")), values["host"], values["port"], out=out, err=err)
    raise UsageError(f"command {command!r} is not known: use up, resume, make or serve")


def _or_default(value: Any, default: Any) -> Any:
    return default if value is None else value


def run_make(options: BatchOptions, *, out_dir: Path, first_number: int, out: TextIO) -> int:
    """Write a data set to a folder; numbers are not reserved because nothing is sent."""
    seed = options.seed if options.seed is not None else new_seed()
    specs = plan(options, range(first_number, first_number + options.count), seed=seed)
    for spec in specs:
        for path in spool.write_exposure(make_exposure(spec), out_dir):
            print(path, file=out)
    print(f"made {len(specs)} exposure(s) in {out_dir} (seed {seed})", file=out)
    return ExitCode.OK


def run_up(
    options: BatchOptions,
    *,
    api: str | None,
    s3_directory: str,
    channel: int,
    out_dir: Path | None,
    dry_run: bool,
    data: Path | None,
    timeout: float | None,
    retries: int | None,
    out: TextIO,
    err: TextIO,
    concurrency: int = DEFAULT_CONCURRENCY,
    workers: int = DEFAULT_WORKERS,
    rate: float | None = None,
    duration: float | None = None,
    repeat_cap: int | None = None,
    report: Path | None = None,
    uploader_options: Mapping[str, Any] | None = None,
) -> int:
    """Generate and upload through the journal; say what happened and what is left.

    With `duration`, exposures are sent until the time is up (at most `repeat_cap` of them, or
    without a cap when it is None); otherwise exactly `options.repeat`.
    """
    check_destination(s3_directory, channel)
    target = targets.resolve_api(api)
    seed = options.seed if options.seed is not None else new_seed()
    # Validate every option before reserving numbers or starting anything.
    plan(options, range(1, 1 + options.count), seed=seed)
    info_channel = channel if s3_directory == "info-images" else None
    settings = SendSettings(
        s3_directory=s3_directory,
        info_channel=info_channel,
        concurrency=concurrency,
        workers=min(workers, _exposures_wanted(options, duration, repeat_cap)),
        rate=rate,
        duration=duration,
        keep_files=out_dir is not None,
        keep_truth=out_dir is not None and options.truth,
    )
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)

    if dry_run:
        return _dry_run(options, seed=seed, s3_directory=s3_directory, out_dir=out_dir, out=out)

    site_dir = local_site_dir(data) if targets.is_local(target) else None
    uploads = _uploader_options(timeout, retries, uploader_options)
    with _api_url(target, data, out) as api_url:
        with PhotonRanchClient(api_url, timeout=uploads.get("timeout", DEFAULT_TIMEOUT)) as client:
            highest = client.highest_file_number(options.site, options.inst)
        run_id = journal_mod.new_run_id(options.site)
        record = {
            "target": target,
            "data": str(site_dir) if site_dir else None,
            "s3_directory": s3_directory,
            "info_channel": info_channel,
            "out_dir": str(out_dir.resolve()) if out_dir else None,
            "options": _options_record(options),
            "seed": seed,
        }
        with journal_mod.Journal.create(run_id, record) as journal:
            blocks = _Blocks(options, journal, seed=seed, server_highest=highest,
                             duration=duration, cap=repeat_cap)
            first = blocks.reserve_first()
            what = (
                f"for {duration:g} s" + (f" (at most {repeat_cap} exposure(s))" if repeat_cap else "")
                if duration else f"{options.repeat} exposure(s)"
            )
            print(
                f"sending {what} to {api_url}: site {options.site}, numbers from {first.start}, "
                f"seed {seed}, run {run_id}",
                file=out,
                flush=True,
            )
            spool_dir = out_dir if out_dir is not None else spool.spool_dir(run_id)
            return _send(
                journal, api_url, settings, spool_dir, owed=[], specs=blocks.specs(),
                uploads=uploads, report=report, out=out, err=err,
                planned=None if duration else options.count,
            )


def run_resume(
    run_id: str | None,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    workers: int = DEFAULT_WORKERS,
    rate: float | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    report: Path | None = None,
    out: TextIO,
    err: TextIO,
    uploader_options: Mapping[str, Any] | None = None,
) -> int:
    """Send what the given run (or every unfinished run) still owes, to the API it used."""
    if run_id is not None:
        run_ids = [journal_mod.check_run_id(run_id)]
    else:
        run_ids = [r for r in journal_mod.list_runs() if not journal_mod.read(r).finished]
        if not run_ids:
            print(f"nothing to resume: every run in {journal_mod.runs_dir()} has sent everything", file=out)
            return ExitCode.OK
    uploads = _uploader_options(timeout, retries, uploader_options)
    status = ExitCode.OK
    for one in run_ids:
        code = _resume_one(
            one, concurrency=concurrency, workers=workers, rate=rate, uploads=uploads,
            report=report, out=out, err=err,
        )
        status = max(status, code)
        if code == ExitCode.INTERRUPTED:
            break
    return status


def _resume_one(
    run_id: str,
    *,
    concurrency: int,
    workers: int,
    rate: float | None,
    uploads: dict[str, Any],
    report: Path | None,
    out: TextIO,
    err: TextIO,
) -> int:
    state = journal_mod.read(run_id)
    run = state.run
    if state.done:
        print(f"run {run_id}: nothing left to send", file=out)
        return ExitCode.OK
    data = Path(run["data"]) if run.get("data") else None
    out_dir = Path(run["out_dir"]) if run.get("out_dir") else None
    options = _options_from_record(run["options"])
    with _api_url(run["target"], data, out) as api_url, journal_mod.opened(run_id) as journal:
        state = journal_mod.read(run_id)  # again, now that we hold the lock
        specs_by_number = _replan(options, state)
        owed: list[tuple[int, list[FileEntry]]] = []
        remake: list[int] = list(state.ungenerated())
        for number, files in state.unsent().items():
            if all(Path(f.path).is_file() for f in files):
                owed.append((number, files))
            else:  # the spool was cleared: make the same exposure again, under the same names
                remake.append(number)
        specs = [specs_by_number[n] for n in sorted(remake)]
        settings = SendSettings(
            s3_directory=run["s3_directory"],
            info_channel=run.get("info_channel"),
            concurrency=concurrency,
            workers=min(workers, len(specs)),
            rate=rate,
            keep_files=out_dir is not None,
            keep_truth=out_dir is not None and options.truth,
        )
        files_owed = sum(len(f) for _, f in owed)
        print(
            f"resuming run {run_id} to {api_url}: {files_owed} file(s) of {len(owed)} exposure(s) "
            f"to send, {len(specs)} exposure(s) to make first",
            file=out,
            flush=True,
        )
        spool_dir = out_dir if out_dir is not None else spool.spool_dir(run_id)
        return _send(
            journal, api_url, settings, spool_dir, owed=owed, specs=specs,
            uploads=uploads, report=report, out=out, err=err, planned=len(owed) + len(specs),
        )


def _send(
    journal: journal_mod.Journal,
    api_url: str,
    settings: SendSettings,
    spool_dir: Path,
    *,
    owed: list[tuple[int, list[FileEntry]]],
    specs: Iterable[ExposureSpec],
    uploads: dict[str, Any],
    report: Path | None,
    out: TextIO,
    err: TextIO,
    planned: int | None = None,
) -> int:
    """Run the pipeline, settle the journal, print the summary; the exit code says what is left."""
    stats = RunStats(exposures_planned=planned)
    with Progress(stats, out, bar=is_terminal(out)) as progress:
        pipeline = Pipeline(
            api_url, journal, stats, progress, settings, spool_dir=spool_dir, uploader_options=uploads
        )
        outcome = pipeline.run(owed, specs)
    stats.stop_clock()
    state = journal_mod.read(journal.run_id)
    if settings.duration is not None and (outcome.out_of_time or outcome.interrupted):
        # A timed run promised a stream, not a count: what it did not reach is not owed.
        last = outcome.last_released if outcome.last_released is not None else state.plans[0].start - 1
        journal.trim(last)
        state.trimmed_after = last
    files_left = state.files_left()
    made_left = len(state.ungenerated())
    if not files_left and not made_left:
        journal.mark_done()
        if not settings.keep_files:
            spool.remove_if_empty(spool_dir)
    summary = summarize(
        stats, run_id=journal.run_id, api_url=api_url, files_left=files_left,
        exposures_not_made=made_left, interrupted=outcome.interrupted,
    )
    print(
        f"sent {stats.files_sent} file(s), {stats.bytes_sent / 1e6:.1f} MB; {stats.files_failed} failed",
        file=out if not (files_left or made_left) else err,
    )
    for line in format_summary(summary):
        print(line, file=out)
    if report is not None:
        write_report(report, summary)
    if files_left or made_left:
        left = f"{files_left} file(s) not sent" + (
            f" and {made_left} exposure(s) not made yet" if made_left else ""
        )
        print(f"{left}; send them with: {PROG} resume {journal.run_id}", file=err, flush=True)
        return ExitCode.INTERRUPTED if outcome.interrupted else ExitCode.FAILED
    return ExitCode.OK


def _exposures_wanted(options: BatchOptions, duration: float | None, cap: int | None) -> int:
    if duration is None:
        return options.repeat
    return cap if cap is not None else DEFAULT_WORKERS


def _uploader_options(
    timeout: float | None, retries: int | None, extra: Mapping[str, Any] | None
) -> dict[str, Any]:
    chosen: dict[str, Any] = dict(extra or {})
    if timeout is not None:
        chosen["timeout"] = timeout
    if retries is not None:
        chosen["retries"] = retries
    return chosen


def _options_record(options: BatchOptions) -> dict[str, Any]:
    record = asdict(options)
    record["time"] = options.time.isoformat() if options.time else None
    return record


def _options_from_record(record: Mapping[str, Any]) -> BatchOptions:
    values = dict(record)
    values["time"] = parse_time(values.get("time"))
    known = {f.name for f in fields(BatchOptions)}
    return BatchOptions(**{k: v for k, v in values.items() if k in known})


def _replan(options: BatchOptions, state: journal_mod.RunState) -> dict[int, ExposureSpec]:
    """The specs of every journaled plan, exactly as first planned (same numbers, seeds, times)."""
    specs: dict[int, ExposureSpec] = {}
    for entry in state.plans:
        block = replace(
            options,
            repeat=len(entry.numbers) // options.smartstack,
            time=parse_time(entry.time),
        )
        now = dt.datetime.fromisoformat(entry.now)
        for spec in plan(block, entry.numbers, seed=entry.seed, now=now):
            specs[spec.number] = spec
    return specs


class _Blocks:
    """File numbers for a run, reserved before the exposures that use them are made.

    A counted run reserves all its numbers at once; a timed run (--duration) reserves them a
    block at a time as it goes, since nobody knows how many it will need. Each block is
    journaled with its seed and clock, so `resume` plans the very same exposures again.
    """

    def __init__(
        self,
        options: BatchOptions,
        journal: journal_mod.Journal,
        *,
        seed: int,
        server_highest: int | None,
        duration: float | None,
        cap: int | None,
    ) -> None:
        self.options = options
        self.journal = journal
        self.seed = seed
        self.server_highest = server_highest
        self.timed = duration is not None
        self.left = cap if self.timed else options.repeat
        self._first: list[ExposureSpec] | None = None
        self._blocks = 0
        self._planned = 0
        template = template_spec(options, 1, seed=seed)
        self._cadence = dt.timedelta(seconds=template.frame.exptime + DEFAULT_OVERHEAD)

    def reserve_first(self) -> range:
        self._first = self._reserve()
        return range(self._first[0].number, self._first[-1].number + 1)

    def _reserve(self) -> list[ExposureSpec]:
        exposures = DEFAULT_DURATION_BLOCK if self.timed else self.options.repeat
        if self.left is not None:
            exposures = min(exposures, self.left)
            self.left -= exposures
        # With --time, block after block continues the run's clock; without, each ends now.
        start = self.options.time + self._cadence * self._planned if self.options.time else None
        block = replace(self.options, repeat=exposures, time=start)
        self._planned += block.count
        numbers = numbering.reserve(
            self.options.site, self.options.inst, block.count, server_highest=self.server_highest
        )
        seed = self.seed if self._blocks == 0 else new_seed()
        self._blocks += 1
        now = _utcnow()
        self.journal.add_plan(numbers, seed=seed, now=now, time=block.time)
        return plan(block, numbers, seed=seed, now=now)

    def specs(self) -> Iterator[ExposureSpec]:
        block = self._first if self._first is not None else self._reserve()
        while True:
            yield from block
            if self.left is not None and self.left <= 0:
                return
            block = self._reserve()


def _dry_run(options: BatchOptions, *, seed: int, s3_directory: str, out_dir: Path | None, out: TextIO) -> int:
    last = numbering.last_reserved(options.site, options.inst) or 0
    numbers = range(last + 1, last + 1 + options.count)
    specs = plan(options, numbers, seed=seed)
    print(f"dry run: nothing is sent; numbers from {numbers.start} are not reserved (seed {seed})", file=out)
    for spec in specs:
        exposure = make_exposure(spec)
        if out_dir is not None:
            spool.write_exposure(exposure, out_dir)
        for product in exposure.products:
            print(f"would send {s3_directory}/{product.name}  ({len(product.data)} bytes)", file=out)
    return ExitCode.OK


@contextlib.contextmanager
def _api_url(target: str, data: Path | None, out: TextIO) -> Iterator[str]:
    """The API to talk to; for `local`, a running `serve` or a site started for this run."""
    if not targets.is_local(target):
        yield target
        return
    from send_test_images.localsite import LocalSite

    site = LocalSite.connect_or_start(local_site_dir(data))
    try:
        if site.owned:
            print(
                f"started a local Photon Ranch at {site.api_url} for this run "
                "(`send-test-images serve` keeps one running)",
                file=out,
                flush=True,
            )
        yield site.api_url
        if site.owned:
            site.wait_idle(DEFAULT_INGEST_WAIT)
            print(
                "the local site stops with this command; to look at the images, run "
                "`send-test-images serve` and open the observe page it prints",
                file=out,
            )
        else:
            print(f"look at them on the observe page: {site.api_url}/", file=out)
    finally:
        site.stop()


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
