"""Parsed arguments -> one typed record per command, in one place, before anything runs.

argparse has already typed every value (cli/argtypes.py); here they are gathered into the
library's records (`BatchOptions`, `Destination`, `SendOptions`, `RunRequest`), whose own checks
run as they are built. So every bad value is refused right after parsing: no local site started,
no number reserved. The commands (cli/commands.py) get these records, never the Namespace.

Import-light (no numpy): it runs before the heavy modules are imported.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from send_test_images import defaults
from send_test_images.errors import SendTestImagesError, UsageError
from send_test_images.exposure.options import BatchOptions
from send_test_images.exposure.presets import get_preset
from send_test_images.sending import targets
from send_test_images.sending.options import Destination, RunRequest, SendOptions

if TYPE_CHECKING:
    from send_test_images.localsite.s3endpoint import S3Endpoint


@dataclass(frozen=True)
class Up:
    request: RunRequest
    dry_run: bool = False


@dataclass(frozen=True)
class Resume:
    run_id: str | None
    sending: SendOptions
    api: str | None = None
    """`resume --api`: send the run there from now on (the journal records the move)."""


@dataclass(frozen=True)
class Make:
    batch: BatchOptions
    out_dir: Path
    first_number: int
    from_header: Path | None = None  # remake this exposure from its header instead of planning
    remake_files: str | None = None  # with from_header: `-f` given, the files to remake (else the header's)


@dataclass(frozen=True)
class Serve:
    data: Path | None
    host: str
    port: int
    db: str | None = None
    """A PostgreSQL URL; None keeps SQLite in the data folder."""
    s3_endpoint: S3Endpoint | None = None
    """An external S3 with its keys; None starts the embedded weed."""


@dataclass(frozen=True)
class Load:
    """`load`: Locust's own arguments, handed to `locust -f <our locustfile>` as they are."""

    locust_args: tuple[str, ...]


Command = Up | Resume | Make | Serve | Load


def s3_endpoint(args: argparse.Namespace) -> S3Endpoint | None:
    """`serve --s3-endpoint` with its bucket and the keys from the environment, checked now, so a
    missing key stops serve before anything starts; `--s3-bucket` alone is refused."""
    if args.s3_endpoint is None:
        if args.s3_bucket is not None:
            raise UsageError(f"--s3-bucket {args.s3_bucket!r} is not allowed without --s3-endpoint: "
                             "use both, or neither for the embedded weed")
        return None
    from send_test_images.localsite.s3endpoint import endpoint_from_env
    from send_test_images.localsite.s3server import DEFAULT_BUCKET

    try:
        return endpoint_from_env(args.s3_endpoint, args.s3_bucket or DEFAULT_BUCKET)
    except SendTestImagesError as exc:
        raise UsageError(str(exc)) from None


def from_args(args: argparse.Namespace) -> Command:
    """The typed record of the command `args` asks for."""
    if args.command == "up":
        duration = args.duration
        batch = batch_options(args)
        _check_something_is_sent(batch)
        return Up(
            RunRequest(
                batch=batch,
                destination=Destination(
                    target=args.api if args.api is not None else targets.resolve_api(None),
                    s3_directory=args.s3dir,
                    channel=channel_for(args.s3dir, args.channel),
                    data=args.data,
                ),
                sending=send_options(args, like=args.like),
                out_dir=args.out,
                duration=duration,
                cap=args.repeat if duration is not None else None,
            ),
            dry_run=args.dry_run,
        )
    if args.command == "resume":
        return Resume(args.run_id, send_options(args, resuming=True), api=args.api)
    if args.command == "make":
        return Make(batch_options(args), out_dir=args.out, first_number=args.number,
                    from_header=args.from_header, remake_files=args.files)
    if args.command == "serve":
        return Serve(args.data, args.host, args.port, db=args.db, s3_endpoint=s3_endpoint(args))
    if args.command == "load":
        return Load(tuple(args.locust_args))
    raise UsageError(f"command {args.command!r} is not known: use up, resume, make or serve")


def _check_something_is_sent(batch: BatchOptions) -> None:
    """Under a preset whose large FITS goes to the archive, `-f F` alone would send nothing."""
    preset = get_preset(batch.like) if batch.like is not None else None
    if preset is not None and preset.archive_large and set(batch.files) == {"F"}:
        raise UsageError(
            f"files {batch.files!r} are not allowed with up --like {batch.like}: its large FITS goes to "
            "the archive, not to Photon Ranch, so nothing would be sent; add h or j (and --out to keep "
            "the archive file), or write it with make"
        )


def channel_for(s3_directory: str, channel: int | None) -> int:
    """`-c` only means something for info images: given with any other directory it is refused,
    not silently dropped, since the user clearly expected a channel to matter."""
    if channel is None:
        return defaults.CHANNEL
    if s3_directory != targets.INFO_DIRECTORY:
        raise UsageError(
            f"info channel {channel} is not allowed with -s3 {s3_directory}: only info images have a "
            f"channel; use -s3 {targets.INFO_DIRECTORY} -c {channel}, or leave -c out"
        )
    return channel


def batch_options(args: argparse.Namespace) -> BatchOptions:
    """What to generate (`up`, `make`). Without -r one exposure; a timed run reads -r as its cap.

    `--like NAME` supplies the defaults of the flags its preset decides (files, data type,
    camera; for `-s3 info-images`, the preset's info-image files); a flag given explicitly wins.
    """
    preset = get_preset(args.like) if args.like is not None else None
    files = preset.files if preset else defaults.FILES
    if preset and getattr(args, "s3dir", None) == targets.INFO_DIRECTORY:
        files = preset.info_files  # a real site's info images are its JPGs alone
    return BatchOptions(
        site=args.site,
        inst=args.inst,
        data_type=_given_or(args.data_type, preset.data_type if preset else defaults.DATA_TYPE),
        files=_given_or(args.files, files),
        repeat=args.repeat if args.repeat is not None else defaults.REPEAT,
        smartstack=args.smartstack,
        seed=args.seed,
        camera=_given_or(args.camera, preset.camera if preset else defaults.CAMERA),
        image=args.image,
        frame=args.frame,
        exptime=args.exptime,
        filter=args.filter,
        time=args.time,
        fits_format=args.fits_format,
        truth=args.truth,
        user=args.user,
        seeing=args.seeing,
        cosmic_rays=args.cosmic_rays,
        satellite=args.satellite,
        location=args.location,
        size=args.size,
        pixel_scale=args.pixel_scale,
        like=args.like,
        stars=args.stars,
        target=args.target,
    )


def send_options(args: argparse.Namespace, *, like: str | None = None, resuming: bool = False) -> SendOptions:
    """How to send (`up`, `resume`). Under `--like`, one upload at a time unless --concurrency says;
    `resume` leaves an unset --concurrency to the run (its journaled preset decides)."""
    preset = get_preset(like) if like is not None else None
    default = None if resuming else (preset.concurrency if preset else defaults.CONCURRENCY)
    return SendOptions(
        concurrency=_given_or(args.concurrency, default),
        workers=args.workers,
        rate=args.rate,
        timeout=args.timeout,
        retries=args.retries,
        report=args.report,
    )


def _given_or(value: object, default: object) -> object:
    """The flag's value if the user gave it (argparse leaves None), else `default`."""
    return default if value is None else value
