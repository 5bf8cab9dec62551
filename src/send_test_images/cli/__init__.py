"""The command line: parsing only. Every command hands plain values to the library.

Three layers, as in httpie: `main()` turns errors into one line and an exit code; `build_parser()`
declares every option in one place; the `run_*` functions in `commands.py` do the work and know
nothing about argparse.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from send_test_images import __version__
from send_test_images.errors import SendTestImagesError, UsageError
from send_test_images.exitcodes import ExitCode

PROG = "send-test-images"

FILES_HELP = (
    "files to send per exposure, any of: h = header .txt (level 00), j = preview 10.jpg, "
    "t = thumbnail 11.jpg, f = small FITS (level 10, ~768 px), F = large FITS (level 00, full frame)"
)


class _Parser(argparse.ArgumentParser):
    """argparse prints usage and exits 2 by itself; we want our one-line error format instead."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} -h')")


def _positive_int(what: str, *, minimum: int = 1):  # type: ignore[no-untyped-def]
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{what} {text!r} is not allowed: use a whole number >= {minimum}"
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"{what} {text!r} is not allowed: use a whole number >= {minimum}"
            )
        return value

    return parse


def _above_zero(what: str, unit: str):  # type: ignore[no-untyped-def]
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not value > 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{what} {text!r} is not allowed: use a number of {unit} above 0")
        return value

    return parse


def _add_sending_options(p: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """Options shared by `up` and `resume`: how hard to push and what to tell afterwards."""
    g = p.add_argument_group("how to send")
    g.add_argument("--concurrency", type=_positive_int("concurrency"), default=None,
                   help="uploads in flight at once (default: 8)")
    g.add_argument("--workers", type=_positive_int("workers", minimum=0), default=None,
                   help="processes generating exposures; 0 = in this process (default: one per CPU)")
    g.add_argument("--rate", type=_above_zero("rate", "exposures per second"), default=None,
                   help="send at most this many exposures per second, for steady load (default: as fast as "
                   "possible)")
    g.add_argument("--report", type=Path, default=None,
                   help="also write the final summary (counts, throughput, latency percentiles, errors) "
                   "as JSON to this file")
    g.add_argument("--timeout", type=_positive_float("timeout"), default=None,
                   help="seconds before a silent connection counts as failed (default: 30)")
    g.add_argument("--retries", type=_positive_int("retries", minimum=0), default=None,
                   help="extra tries for a failure that may pass (timeouts, 5xx, SlowDown) (default: 4)")
    return g


def _positive_float(what: str, unit: str = "seconds"):  # type: ignore[no-untyped-def]
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not value >= 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{what} {text!r} is not allowed: use a number of {unit} >= 0")
        return value

    return parse


def _add_exposure_options(p: argparse.ArgumentParser) -> None:
    """Options shared by `up` and `make`: what one exposure looks like and is called."""
    g = p.add_argument_group("what to generate")
    g.add_argument("-s", "--site", default="tst", help="site code, 3-6 letters or digits (default: tst)")
    g.add_argument("--inst", default="inst", help="instrument (camera) name in file names (default: inst)")
    g.add_argument(
        "-dt", "--data_type", "--data-type", dest="data_type", default="e",
        help="data type letters, uppercased: e -> E; EX, EP (experimental), EF (focus) (default: e)",
    )
    g.add_argument("-f", "--files", default="hjtfF", help=f"{FILES_HELP} (default: hjtfF)")
    g.add_argument(
        "-r", "--repeat", type=_positive_int("repeat"), default=None,
        help="number of exposures (data sets) to generate (default: 1; with --duration, a cap, "
        "default none)",
    )
    g.add_argument(
        "-ss", "--smartstack", type=_positive_int("smartstack"), default=1,
        help="frames per smartstack; each frame gets its own file number and SMARTSTK/SSTKNUM/"
        "SSTKLEN headers; 1 = no smartstack (default: 1)",
    )
    g.add_argument("--seed", type=_positive_int("seed", minimum=0), default=None,
                   help="same seed -> identical pixels (default: a fresh random seed, recorded in the header)")
    g.add_argument("--camera", default=None,
                   help="camera profile: sq4k (4096 px), sq1k (1024 px), sq768 (768 px) (default: sq4k)",
                   choices=("sq4k", "sq1k", "sq768"))
    g.add_argument("--size", default=None,
                   help="WIDTHxHEIGHT of the sensor in pixels, overriding the camera profile (e.g. 2048x1536)")
    g.add_argument("--pixel-scale", type=_positive_float("pixel scale", "arcsec per pixel"), default=None,
                   help="arcsec per pixel, overriding the camera profile (sets the WCS and the star sizes)")
    g.add_argument("--image", choices=("sky", "perlin"), default="sky",
                   help="sky = stars on a realistic sky; perlin = the original smooth blobs (default: sky)")
    g.add_argument("--frame", choices=("light", "bias", "dark", "flat"), default="light",
                   help="frame type, written to IMAGETYP/OBSTYPE (default: light)")
    g.add_argument("--exptime", type=_positive_float("exposure time"), default=None,
                   help="exposure time in seconds (default: 30; a bias is read out as 0 s)")
    g.add_argument("--filter", default=None, help="filter name from the camera's filter set (default: L)")
    g.add_argument("--time", default=None,
                   help="DATE-OBS of the first exposure, UTC, ISO 8601 (default: now)")
    g.add_argument("--fits-format", choices=("fz", "bz2"), default="fz",
                   help="fz = Rice tile-compressed .fits.fz (today's layout); bz2 = .fits.bz2 (the older one)")
    g.add_argument("--truth", action="store_true",
                   help="also write a truth catalogue of the injected stars next to the frame (with --out)")
    g.add_argument("--user", default="send-test-images", help="USERNAME written to the header")
    g.add_argument("--seeing", type=_positive_float("seeing", "arcsec"), default=None,
                   help="seeing FWHM of the stars in arcsec (default: 2.5)")
    g.add_argument("--cosmic-rays", action="store_true", help="add cosmic-ray hits, more for longer exposures")
    g.add_argument("--satellite", action="store_true", help="add a satellite trail across the frame")
    g.add_argument(
        "--location", default=None,
        help="LAT,LON[,ELEV] of the site (deg N, deg E, m; write --location=-30.2,... for the south), "
        "overriding its profile; sets the pointing and ALTITUDE/AZIMUTH/AIRMASS; the profile's time zone "
        "is kept (default: the site's profile, else the tst site's)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Generate realistic observatory exposures and send them through the Photon "
        "Ranch upload path, by default into a local Photon Ranch on this machine.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    up = sub.add_parser(
        "up", help="generate exposures and upload them (the original up.py)",
        description="Generate exposures and upload each file with the two-step Photon Ranch "
        "routine (POST {API}/upload for a presigned POST, then the multipart POST to S3).",
    )
    _add_exposure_options(up)
    g = up.add_argument_group("where to send")
    g.add_argument(
        "--api", default=None,
        help="local (the embedded local site), test, dev, prod (https://api.photonranch.org/"
        "{test,dev,api}: all write to the LIVE bucket), or a URL; also $SEND_TEST_IMAGES_API "
        "(default: local)",
    )
    g.add_argument("-s3", "--s3dir", default="data",
                   help="S3 directory: data, info-images or allsky (default: data)")
    g.add_argument("-c", "--channel", type=int, default=1,
                   help="info-image channel 1, 2 or 3 (only with -s3 info-images) (default: 1)")
    g.add_argument("--out", type=Path, default=None, help="also keep the generated files in this folder")
    g.add_argument("--dry-run", action="store_true", help="generate and name the files, send nothing")
    g.add_argument("--data", type=Path, default=None,
                   help="data folder of the local site (default: the user data directory)")
    g = _add_sending_options(up)
    g.add_argument("--duration", type=_above_zero("duration", "seconds"), default=None,
                   help="keep sending for this many seconds instead of a count (-r caps it)")

    resume = sub.add_parser(
        "resume", help="send what an interrupted or failed run did not send",
        description="Every exposure of a run is journaled before it is sent. This sends exactly "
        "the files the journal says are not sent yet (making exposures the run never got to), "
        "to the same API and under the same names and numbers; nothing is sent twice.",
    )
    resume.add_argument("run_id", nargs="?", default=None,
                        help="the run to finish, as printed by `up` (default: every unfinished run)")
    _add_sending_options(resume)

    make = sub.add_parser(
        "make", help="write a data set to a folder without sending it",
        description="Generate exposures and write their files to a folder; nothing is sent. "
        "File numbers are not reserved: names start at --number.",
    )
    _add_exposure_options(make)
    make.add_argument("--out", type=Path, default=Path("generated"),
                      help="folder to write to (default: ./generated)")
    make.add_argument("--number", type=_positive_int("number", minimum=0), default=1,
                      help="file number of the first exposure (default: 1)")

    serve = sub.add_parser(
        "serve", help="run the local Photon Ranch (S3 + API + ingestion) until Ctrl-C",
        description="Run a local Photon Ranch on this machine: a real S3 server, the upload and "
        "read API, and ingestion into SQLite. Data persists in --data.",
    )
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default: 127.0.0.1; anything else exposes it to the network)")
    serve.add_argument("--port", type=_positive_int("port", minimum=0), default=0,
                       help="API port (default: a free port, printed on start)")
    serve.add_argument("--data", type=Path, default=None,
                       help="data folder (default: the user data directory)")
    return parser


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    """Run one command; never raises for expected failures, returns the exit code."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(out)
            return ExitCode.USAGE
        from send_test_images.cli import commands  # late: keeps `-h` fast and free of numpy/astropy imports

        return commands.dispatch(args.command, vars(args), out=out, err=err)
    except SendTestImagesError as exc:
        print(f"{PROG}: error: {exc}", file=err)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=err)
        return ExitCode.INTERRUPTED


def up_main(argv: Sequence[str] | None = None) -> int:
    """`python up.py [flags]` is `send-test-images up [flags]`."""
    return main(["up", *(sys.argv[1:] if argv is None else argv)])
