"""The commands behind the CLI: a typed record in, an exit code out, progress as lines of text.

`cli/__init__.py` parses and `cli/options.py` builds the records; this module only connects each
command to the library and its output to the streams. Sending a run is `sending.run`'s business
(`send_new` for `up`, `resume` for `resume`), told as events that `cli/view.py` prints.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from send_test_images.cli.options import Command, Load, Make, Resume, Serve, Up
from send_test_images.cli.view import TextView
from send_test_images.errors import SendTestImagesError, UsageError
from send_test_images.exitcodes import ExitCode
from send_test_images.exposure.options import BatchOptions
from send_test_images.exposure.plan import PlannedBlock, new_seed, template_spec
from send_test_images.exposure.products import make_exposure
from send_test_images.exposure.provenance import exposure_spec_from_header, header_from_file
from send_test_images.exposure.sky.pointings import unsolvable_warning, uses_catalogue
from send_test_images.sending import numbering, spool
from send_test_images.sending import run as sending_run
from send_test_images.sending.options import RunRequest
from send_test_images.sending.pipeline import refuse_in_a_starting_worker


def dispatch(command: Command, *, out: TextIO, err: TextIO) -> int:
    """Run one command; its records were checked when they were built."""
    refuse_in_a_starting_worker()
    match command:
        case Up(request):
            warn_if_unsolvable(request.batch, err)
        case Make(batch, from_header=None):
            warn_if_unsolvable(batch, err)
    match command:
        case Up(request, dry_run=True):
            return run_dry(request, out=out)
        case Up(request):
            return run_up(request, out=out, err=err)
        case Resume(run_id, sending, api):
            view = TextView(out, err)
            with _hinted(view):
                results = sending_run.resume(run_id, sending, api=api, observe=view)
            code = max((r.exit_code for r in results), default=ExitCode.OK)
            return max(code, ExitCode.FAILED) if view.skipped else code
        case Make(batch, out_dir, first_number, from_header, remake_files) if from_header is not None:
            return run_make_from_header(from_header, out_dir=out_dir, out=out, files=remake_files)
        case Make(batch, out_dir, first_number):
            return run_make(batch, out_dir=out_dir, first_number=first_number, out=out)
        case Serve(data, host, port, db, s3_endpoint):
            from send_test_images.localsite import serve

            return serve(sending_run.local_site_dir(data), host, port, out=out, err=err, db=db,
                         s3_endpoint=s3_endpoint)
        case Load(locust_args):
            return run_load(locust_args, out=out)
    raise UsageError(f"command {command!r} is not known: use up, resume, make or serve")


def warn_if_unsolvable(options: BatchOptions, err: TextIO) -> None:
    """`--target` at a field with too few catalogue stars to plate-solve: say so, make it anyway."""
    target = options.target
    if target is None:
        return
    PlannedBlock(options, range(1, 1 + options.count), seed=0).check()  # a refused run gets its error, no warning
    spec = template_spec(options, 1, seed=0)
    if not uses_catalogue(spec.frame):
        return
    message = unsolvable_warning(spec.camera, target.ra, target.dec, str(target))
    if message is not None:
        print(f"send-test-images: warning: {message}", file=err)


def run_up(request: RunRequest, *, out: TextIO, err: TextIO) -> int:
    """Generate and upload through the journal; say what happened and what is left."""
    view = TextView(out, err)
    with _hinted(view):
        return sending_run.send_new(request, observe=view).exit_code


@contextmanager
def _hinted(view: TextView) -> Iterator[None]:
    """An error that ends a started run (a full disk, an exposure that cannot be made) keeps its
    one line and gains the command that finishes the run once the cause is fixed."""
    try:
        yield
    except SendTestImagesError as exc:
        hint = view.resume_hint()
        if not hint or hint in str(exc):
            raise
        raise _with_hint(exc, f"{exc}; once that is fixed, send the rest with: {hint}") from exc


def _with_hint(exc: SendTestImagesError, message: str) -> SendTestImagesError:
    """The same kind of error (and exit code) with a longer message."""
    make: Callable[[str], SendTestImagesError] = type(exc)
    try:
        hinted = make(message)
    except TypeError:
        hinted = SendTestImagesError(message)
    hinted.exit_code = exc.exit_code
    return hinted


def run_dry(request: RunRequest, *, out: TextIO) -> int:
    """`up --dry-run`: name (and with --out, write) every file; reserve and send nothing."""
    seed = sending_run.check(request)
    options = request.batch
    if request.out_dir is not None:
        request.out_dir.mkdir(parents=True, exist_ok=True)
    last = numbering.last_reserved(options.site, options.inst) or 0
    numbers = range(last + 1, last + 1 + options.count)
    specs = PlannedBlock(options, numbers, seed=seed)
    print(f"dry run: nothing is sent; numbers from {numbers.start} are not reserved (seed {seed})", file=out)
    for spec in specs:
        exposure = make_exposure(spec)
        if request.out_dir is not None:
            spool.write_exposure(exposure, request.out_dir)
        for product in exposure.products:
            print(f"would send {request.destination.s3_directory}/{product.name}  ({len(product.data)} bytes)",
                  file=out)
    return ExitCode.OK


def run_make(options: BatchOptions, *, out_dir: Path, first_number: int, out: TextIO) -> int:
    """Write a data set to a folder; numbers are not reserved because nothing is sent."""
    seed = options.seed if options.seed is not None else new_seed()
    specs = PlannedBlock(options, range(first_number, first_number + options.count), seed=seed)
    specs.check()  # e.g. a --target below the horizon: refused before the first file is written
    for spec in specs:
        for path in spool.write_exposure(make_exposure(spec), out_dir):
            print(path, file=out)
    print(f"made {len(specs)} exposure(s) in {out_dir} (seed {seed})", file=out)
    return ExitCode.OK


def run_load(locust_args: tuple[str, ...], *, out: TextIO) -> int:
    """`locust -f <our locustfile> ARGS` in a process of its own; its exit code is ours.

    A process of its own because Locust monkey-patches the standard library with gevent on
    import, which must happen before anything imports ssl or threading, as in `locust` itself.
    Ctrl-C reaches both processes: Locust stops, writes its reports; this one waits for it.
    """
    import importlib.util
    import subprocess
    import sys

    from send_test_images.load import LOCUSTFILE

    if importlib.util.find_spec("locust") is None:
        raise UsageError("load needs Locust, an optional dependency: pip install 'send-test-images[load]'")
    process = subprocess.Popen([sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), *locust_args])
    while True:
        try:
            code = process.wait()
        except KeyboardInterrupt:
            continue  # Locust got the same Ctrl-C and is shutting down with its report
        code = code if code >= 0 else 128 - code
        if code == 0 and ("-h" in locust_args or "--help" in locust_args):
            print_load_options(out)  # Locust prints its help before it reads a locustfile's options
        return code


def print_load_options(out: TextIO) -> None:
    """Our Locust custom arguments, as a help section of their own."""
    from send_test_images.load.options import ARGUMENTS

    print("\nsend-test-images options (Locust custom arguments: the master hands them to its workers):", file=out)
    for argument in ARGUMENTS:
        default = "" if argument.action else f" (default: {argument.default or 'none'})"
        print(f"  {argument.flag:<18}{argument.help}{default}", file=out)
    from send_test_images.cli import examples

    print(f"\n{examples('load')}", file=out)


def run_make_from_header(path: Path, *, out_dir: Path, out: TextIO, files: str | None = None) -> int:
    """`make --from-header FILE`: the exposure the header was made from, byte for byte; with
    `files`, those files of the same frame instead (a header sent alone names no pixel file,
    and its pixels are the same whichever files are made)."""
    spec = exposure_spec_from_header(header_from_file(path.name, path.read_bytes()))
    if files is not None:
        spec = dataclasses.replace(spec, files=files)
    for written in spool.write_exposure(make_exposure(spec), out_dir):
        print(written, file=out)
    print(f"remade exposure {spec.number} of {spec.site}/{spec.inst} in {out_dir} (frame seed {spec.seed})",
          file=out)
    return ExitCode.OK
