"""The commands behind the CLI: plain values in, an exit code out, progress as lines of text.

`cli.py` parses; this module decides what a run does: validate everything, reserve numbers,
make each exposure's files, send or write them, and say plainly what happened to every file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TextIO

from . import numbering, paths, targets
from .batch import BatchOptions, check_destination, new_seed, parse_time, plan
from .errors import UploadError, UsageError
from .exitcodes import ExitCode
from .products import Exposure, make_exposure
from .upload import Uploader

LOCAL_SITE_FOLDER = "site"
DEFAULT_INGEST_WAIT = 5.0
"""When `up` started its own local site, how long it waits for ingestion before stopping it."""


def local_site_dir(data: Path | None) -> Path:
    return data if data is not None else paths.data_dir() / LOCAL_SITE_FOLDER


def batch_options(values: Mapping[str, Any]) -> BatchOptions:
    known = {f.name for f in fields(BatchOptions)}
    chosen = {k: v for k, v in values.items() if k in known}
    chosen["time"] = parse_time(values.get("time"))
    return BatchOptions(**chosen)


def dispatch(command: str, values: Mapping[str, Any], *, out: TextIO, err: TextIO) -> int:
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
        )
    if command == "make":
        return run_make(batch_options(values), out_dir=values["out"], first_number=values["number"], out=out)
    if command == "serve":
        from .localsite import serve

        return serve(local_site_dir(values.get("data")), values["host"], values["port"], out=out)
    raise UsageError(f"command {command!r} is not known: use up, make or serve")


@dataclass
class Tally:
    """What happened to the files of a run; the exit code and summary come from here."""

    sent: int = 0
    failed: list[str] = field(default_factory=list)
    bytes: int = 0

    @property
    def exit_code(self) -> int:
        return ExitCode.FAILED if self.failed else ExitCode.OK


def run_make(options: BatchOptions, *, out_dir: Path, first_number: int, out: TextIO) -> int:
    """Write a data set to a folder; numbers are not reserved because nothing is sent."""
    seed = options.seed if options.seed is not None else new_seed()
    specs = plan(options, range(first_number, first_number + options.count), seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    for spec in specs:
        exposure = make_exposure(spec)
        for path in write_exposure(exposure, out_dir):
            print(path, file=out)
    print(f"made {len(specs)} exposure(s) in {out_dir} (seed {seed})", file=out)
    return ExitCode.OK


def write_exposure(exposure: Exposure, out_dir: Path) -> list[Path]:
    """Every product under its Photon Ranch name, plus the truth catalogue when made."""
    written = []
    for product in exposure.products:
        path = out_dir / str(product.name)
        path.write_bytes(product.data)
        written.append(path)
    if exposure.truth is not None:
        path = out_dir / exposure.truth.name
        path.write_bytes(exposure.truth.data)
        written.append(path)
    return written


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
) -> int:
    """Generate and upload; every file gets one line saying where it went or why not."""
    check_destination(s3_directory, channel)
    target = targets.resolve_api(api)
    seed = options.seed if options.seed is not None else new_seed()
    # Validate every option before reserving numbers or starting anything.
    plan(options, range(1, 1 + options.count), seed=seed)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    info_channel = channel if s3_directory == "info-images" else None

    if dry_run:
        last = numbering.last_reserved(options.site, options.inst) or 0
        numbers = range(last + 1, last + 1 + options.count)
        specs = plan(options, numbers, seed=seed)
        print(f"dry run: nothing is sent; numbers from {numbers.start} are not reserved (seed {seed})", file=out)
        for spec in specs:
            exposure = make_exposure(spec)
            if out_dir is not None:
                write_exposure(exposure, out_dir)
            for product in exposure.products:
                print(f"would send {s3_directory}/{product.name}  ({len(product.data)} bytes)", file=out)
        return ExitCode.OK

    with _api_url(target, data, out) as api_url:
        uploader_kwargs: dict[str, Any] = {}
        if timeout is not None:
            uploader_kwargs["timeout"] = timeout
        if retries is not None:
            uploader_kwargs["retries"] = retries
        with Uploader(api_url, **uploader_kwargs) as uploader:
            highest = uploader.client.highest_file_number(options.site, options.inst)
            numbers = numbering.reserve(options.site, options.inst, options.count, server_highest=highest)
            specs = plan(options, numbers, seed=seed)
            print(
                f"sending {len(specs)} exposure(s) to {api_url}: site {options.site}, numbers "
                f"{numbers.start}-{numbers[-1]}, seed {seed}",
                file=out,
                flush=True,
            )
            tally = Tally()
            for spec in specs:
                exposure = make_exposure(spec)
                if out_dir is not None:
                    write_exposure(exposure, out_dir)
                for product in exposure.products:
                    _send_one(uploader, product.data, str(product.name), s3_directory, info_channel, tally, out)
    print(
        f"sent {tally.sent} file(s), {tally.bytes / 1e6:.1f} MB; {len(tally.failed)} failed",
        file=out if not tally.failed else err,
    )
    return tally.exit_code


def _send_one(
    uploader: Uploader,
    data: bytes,
    name: str,
    s3_directory: str,
    info_channel: int | None,
    tally: Tally,
    out: TextIO,
) -> None:
    try:
        result = uploader.send(data, name, s3_directory=s3_directory, info_channel=info_channel)
    except UploadError as exc:
        tally.failed.append(name)
        print(f"{s3_directory}/{name}  FAILED  {exc}", file=out, flush=True)
        return
    tally.sent += 1
    tally.bytes += result.bytes
    retried = f", {result.attempts} tries" if result.attempts > 1 else ""
    print(f"{result.key}  {result.status} OK  ({result.bytes / 1e3:.1f} kB{retried})", file=out, flush=True)


@contextlib.contextmanager
def _api_url(target: str, data: Path | None, out: TextIO) -> Iterator[str]:
    """The API to talk to; for `local`, a running `serve` or a site started for this run."""
    if not targets.is_local(target):
        yield target
        return
    from .localsite import LocalSite

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
    finally:
        site.stop()


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
