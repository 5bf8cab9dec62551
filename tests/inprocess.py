"""Run `up` and `resume` in process (the CLI's commands, typed records in) with small timeouts and
backoffs, and read what they said."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from send_test_images import cli
from send_test_images.cli import commands
from send_test_images.cli.options import Resume
from send_test_images.exposure.options import BatchOptions
from send_test_images.sending.options import Destination, RunRequest, SendOptions

FAST_UPLOADS = {"timeout": 10.0, "backoff_base": 0.01, "backoff_cap": 0.05}
"""Seconds. Backoffs are short so retries cost nothing; the timeout is generous because a loaded
2-core CI machine can take over a second for an ordinary POST to weed, and a spurious timeout
would show up in the tests' exact error counts. A test about stalls sets its own timeout."""
CAMERA = "sq768"
FILES = "hjtf"


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def run_id(self) -> str:
        """The run id `up` printed on its first line ("... run RUNID")."""
        for line in self.out.splitlines():
            if ", run " in line:
                return line.rsplit(", run ", 1)[1].strip()
        raise AssertionError(f"no run id in the output:\n{self.out}")


def send_options(uploads: dict[str, Any] | None = None, **kwargs: Any) -> SendOptions:
    """In-process defaults (no generator processes, 4 uploads) with the fast uploads above."""
    uploader = {**FAST_UPLOADS, **(uploads or {})}
    return SendOptions(**{"workers": 0, "concurrency": 4, "timeout": uploader.pop("timeout"), **kwargs},
                       uploader=uploader)


def up(api_url: str, *, inst: str = "inst", repeat: int = 2, files: str = FILES, out_dir: Path | None = None,
       uploads: dict[str, Any] | None = None, duration: float | None = None, repeat_cap: int | None = None,
       batch: dict[str, Any] | None = None, **sending: Any) -> Ran:
    out, err = io.StringIO(), io.StringIO()
    options = BatchOptions(site="tst", inst=inst, files=files, repeat=repeat, camera=CAMERA, seed=7, **(batch or {}))
    request = RunRequest(
        batch=options, destination=Destination(target=api_url), sending=send_options(uploads, **sending),
        out_dir=out_dir, duration=duration, cap=repeat_cap if duration is not None else None,
    )
    code = commands.run_up(request, out=out, err=err)
    return Ran(code, out.getvalue(), err.getvalue())


def resume(run_id: str | None = None, *, uploads: dict[str, Any] | None = None, **sending: Any) -> Ran:
    out, err = io.StringIO(), io.StringIO()
    code = commands.dispatch(Resume(run_id, send_options(uploads, **sending)), out=out, err=err)
    return Ran(code, out.getvalue(), err.getvalue())


SMALL = ["--camera", CAMERA]
"""Command-line flags for small, fast exposures."""


def run_cli(*argv: str) -> tuple[int, str, str]:
    """`send-test-images ARGV` in process: the exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def sent_keys(stdout: str) -> list[str]:
    """The S3 keys of the files `up` printed as sent."""
    return [line.split()[0] for line in stdout.splitlines() if " 204 OK" in line]
