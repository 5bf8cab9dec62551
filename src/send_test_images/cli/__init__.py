"""The command line: parsing only. Every command hands typed records to the library.

Three layers, as in httpie: `main()` turns errors into one line and an exit code; `build_parser()`
declares every option in one place, typed by `argtypes.py` with defaults from
`send_test_images.defaults`; `options.py` gathers the values into one record per command, and the
`run_*` functions in `commands.py` do the work and know nothing about argparse.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn, TextIO

from send_test_images import __version__, defaults
from send_test_images.cli import argtypes, options
from send_test_images.cli.outstream import reader_gone_safe
from send_test_images.errors import SendTestImagesError, UsageError
from send_test_images.exitcodes import ExitCode
from send_test_images.exposure.options import (
    MAX_EXPOSURES,
    MAX_EXPTIME,
    MAX_PIXEL_SCALE,
    MAX_SEED,
    MAX_SEEING,
    MIN_PIXEL_SCALE,
    MIN_SEEING,
    STAR_SOURCES,
)
from send_test_images.exposure.presets import PRESETS
from send_test_images.invocation import PROG, program
from send_test_images.sending.options import MAX_DURATION, MAX_TIMEOUT, MIN_RATE

MAX_PORT = 65_535

FILES_HELP = (
    "files to send per exposure, any of: h = header .txt (level 00), j = preview 10.jpg, "
    "t = thumbnail 11.jpg, f = small FITS (level 10, ~768 px), F = large FITS (level 00, full frame)"
)


EXAMPLES: dict[str, tuple[tuple[str, str], ...]] = {
    "up": (
        ("one exposure of every file to the local site (started for the run if no serve is running)",
         "up"),
        ("20 small exposures, header and preview only, also kept in ./frames",
         "up -r 20 --camera sq768 -f hj --out frames"),
        ("what a site running ptr-observatory sends, one a minute for an hour",
         "up --like ptr-observatory --rate 0.0167 --duration 3600"),
        ("five flats in R to a serve on port 8000", "up -r 5 --frame flat --filter R --api http://127.0.0.1:8000"),
    ),
    "serve": (
        ("the local Photon Ranch on a free port; open the observe page it prints", "serve"),
        ("on a fixed port, with its data in ./site-data", "serve --port 8000 --data site-data"),
    ),
    "resume": (
        ("send what every interrupted or failed run still owes", "resume"),
        ("one run, to a site that moved to port 8001",
         "resume 20261130T190626Z-tst-271ff3 --api http://127.0.0.1:8001"),
    ),
    "make": (
        ("three exposures' files into ./generated, nothing sent", "make -r 3"),
        ("a smartstack of 5 small frames with their truth catalogues",
         "make -ss 5 --camera sq768 --truth --out stack"),
    ),
    "load": (
        ("50 simulated site cameras for ten minutes against a running serve, no web UI",
         "load --headless -u 50 -r 5 -t 10m --host http://127.0.0.1:8000"),
    ),
}
"""What a newcomer types first, per command: shown in `-h` (a test parses every line)."""


def examples(*commands: str, first_only: bool = False) -> str:
    """The examples section of a help page, with commands as they work from here (`./dev up` ...)."""
    lines = ["examples:"]
    for name in commands:
        for what, words in EXAMPLES[name][:1] if first_only else EXAMPLES[name]:
            lines += [f"  # {what}", f"  {program()} {words}"]
    return "\n".join(lines)


class _Formatter(argparse.HelpFormatter):
    """argparse's layout, except that text with line breaks (the examples) is kept as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


class _Parser(argparse.ArgumentParser):
    """argparse prints usage and exits 2 by itself; we want our one-line error format instead."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} -h')")


def _add_sending_options(p: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """Options shared by `up` and `resume`: how hard to push and what to tell afterwards."""
    g = p.add_argument_group("how to send")
    g.add_argument("--concurrency", type=argtypes.whole_number("concurrency"), default=None, metavar="N",
                   help=f"uploads in flight at once (default: {defaults.CONCURRENCY}); 1 with --like "
                   "ptr-observatory: one stream, first in first out, as a site sends")
    g.add_argument("--workers", type=argtypes.whole_number("workers", minimum=0), default=defaults.WORKERS, metavar="N",
                   help="processes generating exposures; 0 = in this process (default: one per CPU)")
    g.add_argument("--rate", type=argtypes.above_zero("rate", "exposures per second", lowest=MIN_RATE,
                                                          lowest_text="1/86400 (one a day)"), default=None,
                   metavar="PER_SECOND",
                   help="send at most this many exposures per second, for steady load (default: as fast as "
                   "possible)")
    g.add_argument("--report", type=argtypes.report_file, default=None, metavar="FILE.json",
                   help="also write the final summary (counts, throughput, latency percentiles, errors) "
                   "as JSON to this file; its folder must exist (default: none)")
    g.add_argument("--timeout", type=argtypes.above_zero("timeout", "seconds", highest=MAX_TIMEOUT),
                   default=defaults.TIMEOUT, metavar="SECONDS",
                   help=f"seconds before a silent connection counts as failed (default: {defaults.TIMEOUT:g})")
    g.add_argument("--retries", type=argtypes.whole_number("retries", minimum=0), default=defaults.RETRIES, metavar="N",
                   help="extra tries for a failure that may pass (timeouts, 5xx, SlowDown) "
                   f"(default: {defaults.RETRIES})")
    return g


def _add_exposure_options(p: argparse.ArgumentParser) -> None:
    """Options shared by `up` and `make`: what one exposure looks like and is called."""
    g = p.add_argument_group("what to generate")
    g.add_argument("--like", choices=tuple(PRESETS), default=None,
                   help="send exactly what a real site sends: ptr-observatory = a Photon Ranch site "
                   "running LCOGT/ptr-observatory (files hj, data type EX, a 900-px-high JPG, camera "
                   "qhy600, its header spelling, clock smartstack ids, --concurrency 1); flags given "
                   "explicitly still win (default: none)")
    g.add_argument("-s", "--site", default=defaults.SITE, metavar="CODE",
                   help=f"site code, 3-6 letters or digits (default: {defaults.SITE})")
    g.add_argument("--inst", default=defaults.INST, metavar="NAME",
                   help=f"instrument (camera) name in file names (default: {defaults.INST})")
    g.add_argument(
        "-dt", "--data_type", "--data-type", dest="data_type", default=None, metavar="LETTERS",
        help="data type letters, uppercased: e -> E; EX, EP (experimental), EF (focus) "
        f"(default: {defaults.DATA_TYPE})",
    )
    g.add_argument("-f", "--files", default=None, metavar="LETTERS",
                   help=f"{FILES_HELP} (default: {defaults.FILES}, or the --like preset's)")
    g.add_argument(
        "-r", "--repeat", type=argtypes.whole_number("repeat", maximum=MAX_EXPOSURES), default=None, metavar="N",
        help=f"number of exposures (data sets) to generate (default: {defaults.REPEAT}; with --duration, a cap, "
        "default none)",
    )
    g.add_argument(
        "-ss", "--smartstack", type=argtypes.whole_number("smartstack"), default=defaults.SMARTSTACK, metavar="N",
        help="frames per smartstack; each frame gets its own file number and SMARTSTK/SSTKNUM/"
        f"SSTKLEN headers; 1 = no smartstack (default: {defaults.SMARTSTACK})",
    )
    g.add_argument("--seed", type=argtypes.whole_number("seed", minimum=0, maximum=MAX_SEED), default=None,
                   metavar="N",
                   help="same seed -> identical pixels (default: a fresh random seed, recorded in the header)")
    g.add_argument("--camera", default=None,
                   help="camera profile: sq4k (4096 px), sq1k (1024 px), sq768 (768 px), qhy600 "
                   f"(9576x6388, the --like ptr-observatory camera) (default: {defaults.CAMERA})",
                   choices=("sq4k", "sq1k", "sq768", "qhy600"))
    g.add_argument("--size", type=argtypes.sensor_size, default=None, metavar="WxH",
                   help="WIDTHxHEIGHT of the sensor in pixels, overriding the camera profile (e.g. 2048x1536) "
                   "(default: the camera's)")
    g.add_argument("--pixel-scale", default=None, metavar="ARCSEC",
                   type=argtypes.number_in("pixel scale", "arcsec per pixel", MIN_PIXEL_SCALE, MAX_PIXEL_SCALE),
                   help="arcsec per pixel, overriding the camera profile (sets the WCS and the star sizes) "
                   "(default: the camera's)")
    g.add_argument("--image", choices=("sky", "perlin"), default=defaults.IMAGE,
                   help="sky = stars on a realistic sky; perlin = the original smooth blobs "
                   f"(default: {defaults.IMAGE})")
    g.add_argument("--stars", choices=STAR_SOURCES, default=defaults.STARS,
                   help="catalogue = a light frame's stars brighter than G=10 are Gaia DR3's at their real "
                   "places (the frame plate-solves at its pointing), fainter ones synthetic; synthetic = every "
                   f"star drawn at random, as before (default: {defaults.STARS})")
    g.add_argument("--target", type=argtypes.target, default=None, metavar="NAME|RA,DEC",
                   help="point every exposure here: a named object (M1..M106, NGC 55..NGC 7635; see README) or "
                   "RA,DEC in degrees; warns when the field holds too "
                   "few catalogue stars to plate-solve (default: a random target, chosen so the frame solves)")
    g.add_argument("--frame", choices=("light", "bias", "dark", "flat"), default=defaults.FRAME,
                   help=f"frame type, written to IMAGETYP/OBSTYPE (default: {defaults.FRAME})")
    g.add_argument("--exptime", type=argtypes.at_least_zero("exposure time", highest=MAX_EXPTIME),
                   default=defaults.EXPTIME, metavar="SECONDS",
                   help=f"exposure time in seconds (default: {defaults.EXPTIME:g}; a bias is read out as 0 s)")
    g.add_argument("--filter", default=defaults.FILTER, metavar="NAME",
                   help=f"filter name from the camera's filter set (default: {defaults.FILTER})")
    g.add_argument("--time", type=argtypes.iso_time, default=None, metavar="ISO_TIME",
                   help="DATE-OBS of the first exposure, UTC, ISO 8601, e.g. 2026-11-24T05:30:00 (default: the run "
                   "ends now, or, with up, starts right after the site's newest exposure if that is later)")
    g.add_argument("--fits-format", choices=("fz", "bz2"), default=defaults.FITS_FORMAT,
                   help="fz = Rice tile-compressed .fits.fz (today's layout); bz2 = .fits.bz2 (the older one) "
                   f"(default: {defaults.FITS_FORMAT})")
    g.add_argument("--truth", action="store_true",
                   help="also write a truth catalogue of the injected stars next to the frame (with --out)")
    g.add_argument("--user", default=defaults.USER, metavar="NAME",
                   help=f"USERNAME/USERID written to the header (default: {defaults.USER})")
    g.add_argument("--seeing", type=argtypes.number_in("seeing", "arcsec", MIN_SEEING, MAX_SEEING),
                   default=defaults.SEEING, metavar="ARCSEC",
                   help=f"seeing FWHM of the stars in arcsec (default: {defaults.SEEING:g})")
    g.add_argument("--cosmic-rays", action="store_true", help="add cosmic-ray hits, more for longer exposures")
    g.add_argument("--satellite", action="store_true", help="add a satellite trail across the frame")
    g.add_argument(
        "--location", type=argtypes.location, default=None, metavar="LAT,LON[,ELEV]",
        help="LAT,LON[,ELEV] of the site (deg N, deg E, m; write --location=-30.2,... for the south), "
        "overriding its profile; sets the pointing and ALTITUDE/AZIMUTH/AIRMASS; the profile's time zone "
        f"is kept (default: the site's profile, else the {defaults.SITE} site's)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG, formatter_class=_Formatter, epilog=examples(*EXAMPLES, first_only=True),
        description="Generate realistic observatory exposures and send them through the Photon "
        "Ranch upload path, by default into a local Photon Ranch on this machine.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    with_examples = {"formatter_class": _Formatter}

    up = sub.add_parser(
        "up", help="generate exposures and upload them (the original up.py)", epilog=examples("up"), **with_examples,
        description="Generate exposures and upload each file with the two-step Photon Ranch "
        "routine (POST {API}/upload for a presigned POST, then the multipart POST to S3).",
    )
    _add_exposure_options(up)
    g = up.add_argument_group("where to send")
    g.add_argument(
        "--api", type=argtypes.api, default=None, metavar="TARGET",
        help="local (the embedded local site), test, dev, prod (https://api.photonranch.org/"
        "{test,dev,api}: all write to the LIVE bucket), or a URL; also $SEND_TEST_IMAGES_API "
        f"(default: {defaults.API})",
    )
    g.add_argument("-s3", "--s3dir", type=argtypes.s3_directory, default=defaults.S3_DIRECTORY, metavar="DIR",
                   help=f"S3 directory: data, info-images or allsky (default: {defaults.S3_DIRECTORY})")
    g.add_argument("-c", "--channel", type=argtypes.channel, default=None, metavar="N",
                   help=f"info-image channel 1, 2 or 3 (only with -s3 info-images) (default: {defaults.CHANNEL})")
    g.add_argument("--out", type=argtypes.folder("out"), default=None, metavar="DIR",
                   help="also keep the generated files in this folder (default: none: each file is removed once "
                   "sent)")
    g.add_argument("--dry-run", action="store_true", help="generate and name the files, send nothing")
    g.add_argument("--data", type=argtypes.folder("data"), default=None, metavar="DIR",
                   help="data folder of the local site (default: the user data directory)")
    g = _add_sending_options(up)
    g.add_argument("--duration", type=argtypes.above_zero("duration", "seconds", highest=MAX_DURATION), default=None,
                   metavar="SECONDS",
                   help="keep sending for this many seconds instead of a count (-r caps it) (default: none: send "
                   "-r exposures)")

    resume = sub.add_parser(
        "resume", help="send what an interrupted or failed run did not send", epilog=examples("resume"),
        **with_examples,
        description="Every exposure of a run is journaled before it is sent. This sends exactly "
        "the files the journal says are not sent yet (making exposures the run never got to), "
        "to the same API (or --api) and under the same names and numbers. A file whose answer was "
        "lost (a dropped 204, a kill) is sent again, to the same key with the same bytes.",
    )
    resume.add_argument("run_id", nargs="?", default=None, metavar="RUN_ID",
                        help="the run to finish, as printed by `up` (default: every unfinished run)")
    g = _add_sending_options(resume)
    g.add_argument("--api", type=argtypes.api, default=None, metavar="TARGET",
                   help="send the run here instead of where it was sent (the site moved, e.g. to another port): "
                   "local, test, dev, prod or a URL; needs RUN_ID, and later resumes go there too "
                   "(default: the API the run used)")

    make = sub.add_parser(
        "make", help="write a data set to a folder without sending it", epilog=examples("make"), **with_examples,
        description="Generate exposures and write their files to a folder; nothing is sent. "
        "File numbers are not reserved: names start at --number.",
    )
    _add_exposure_options(make)
    make.add_argument("--out", type=argtypes.folder("out"), default=defaults.MAKE_OUT, metavar="DIR",
                      help=f"folder to write to (default: ./{defaults.MAKE_OUT})")
    make.add_argument("--number", type=argtypes.whole_number("number", minimum=0), default=defaults.MAKE_NUMBER,
                      metavar="N", help=f"file number of the first exposure (default: {defaults.MAKE_NUMBER})")
    make.add_argument("--from-header", type=argtypes.header_file, default=None, metavar="FILE",
                      help="remake one sent exposure, byte for byte, from its header alone: its .txt, "
                      ".fits.fz or .fits.bz2; every option but --out and -f is taken from the header "
                      "(-f chooses other files of the same frame: -f hjtfF draws the pixels of a header sent alone) "
                      "(default: none)")

    serve = sub.add_parser(
        "serve", help="run the local Photon Ranch (S3 + API + ingestion) until Ctrl-C", epilog=examples("serve"),
        **with_examples,
        description="Run a local Photon Ranch on this machine: a real S3 server, the upload and "
        "read API, and ingestion into SQLite (or PostgreSQL with --db). Data persists in --data.",
    )
    serve.add_argument("--host", default=defaults.SERVE_HOST, metavar="ADDRESS",
                       help=f"address to bind (default: {defaults.SERVE_HOST}; anything else exposes it to the "
                       "network)")
    serve.add_argument("--port", type=argtypes.whole_number("port", minimum=0, maximum=MAX_PORT),
                       default=defaults.SERVE_PORT, metavar="N",
                       help="API port, 0 = a free one (default: a free port, printed on start)")
    serve.add_argument("--data", type=argtypes.folder("data"), default=None, metavar="DIR",
                       help="data folder (default: the user data directory)")
    serve.add_argument("--db", type=argtypes.database, default=None, metavar="URL",
                       help="keep the site's rows in this PostgreSQL database, postgresql://USER@HOST:PORT/DBNAME "
                       "(default: SQLite in the data folder); one serve per database")
    serve.add_argument("--s3-endpoint", type=argtypes.s3_endpoint, default=None, metavar="URL",
                       help="use this S3 (a SeaweedFS or MinIO cluster) instead of starting weed; keys from "
                       "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, region from AWS_REGION "
                       "(default: the embedded weed)")
    serve.add_argument("--s3-bucket", type=argtypes.bucket, default=None, metavar="NAME",
                       help="the bucket on --s3-endpoint (default: photonranch-001, made if missing)")

    # Every argument after `load` is Locust's (ours are Locust custom arguments, so the master hands
    # them to its workers): no '-' prefix here, so argparse passes `-u 50 --headless -h` through as is.
    load = sub.add_parser(
        "load", help="distributed load with Locust: many site cameras at once (load -h: every option)",
        description="Run Locust on send-test-images' locustfile; every argument goes to Locust.",
        prefix_chars="+", add_help=False,
    )
    load.add_argument("locust_args", nargs=argparse.REMAINDER,
                      help="Locust's arguments, e.g. --headless -u 50 -r 5 -t 1h --host URL (see load -h)")
    return parser


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    """Run one command; never raises for expected failures, returns the exit code."""
    out = reader_gone_safe(stdout or sys.stdout)  # `up | head`: the run goes on (outstream.py)
    err = reader_gone_safe(stderr or sys.stderr)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(out)
            return ExitCode.USAGE
        command = options.from_args(args)  # every value checked: nothing has started yet
        from send_test_images.cli import commands  # late: keeps `-h` fast and free of numpy/astropy imports

        return commands.dispatch(command, out=out, err=err)
    except SendTestImagesError as exc:
        print(f"{PROG}: error: {exc}", file=err)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=err)
        return ExitCode.INTERRUPTED


def up_main(argv: Sequence[str] | None = None) -> int:
    """`python up.py [flags]` is `send-test-images up [flags]`."""
    return main(["up", *(sys.argv[1:] if argv is None else argv)])


def run() -> NoReturn:
    """The `send-test-images` command: `main()`, then `leave()`."""
    leave(main())


def leave(code: int) -> NoReturn:
    """End the process with `code`, without the interpreter's teardown when nothing needs it.

    Tearing down an interpreter that imported numpy and astropy frees every object of every
    module one at a time: ~0.15 s of CPU after the last file is sent, a sixth of a 1-exposure
    run, for memory the OS takes back at once anyway. The atexit handlers still run
    (multiprocessing's clean-up, logging) and the streams are flushed. Only with no other thread
    left (one might still be writing) and without gevent (`load`): otherwise a normal exit.
    For the process's entry points only; a caller of `main()` keeps its interpreter.
    """
    if threading.active_count() == 1 and "gevent" not in sys.modules:
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # a closed pipe: nothing left to tell anyone
                stream.flush()
        os._exit(code)
    sys.exit(code)
