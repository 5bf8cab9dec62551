"""Run `up` and `resume` in process with small timeouts and backoffs, and read what they said."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from send_test_images.cli import commands
from send_test_images.exposure.plan import BatchOptions

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


def up(api_url: str, *, inst: str = "inst", repeat: int = 2, files: str = FILES, out_dir: Path | None = None,
       uploads: dict[str, Any] | None = None, **kwargs: Any) -> Ran:
    out, err = io.StringIO(), io.StringIO()
    options = BatchOptions(site="tst", inst=inst, files=files, repeat=repeat, camera=CAMERA, seed=7,
                           **kwargs.pop("batch", {}))
    settings = {"workers": 0, "concurrency": 4, **kwargs}
    code = commands.run_up(
        options, api=api_url, s3_directory="data", channel=1, out_dir=out_dir, dry_run=False, data=None,
        timeout=None, retries=settings.pop("retries", None), out=out, err=err,
        uploader_options={**FAST_UPLOADS, **(uploads or {})}, **settings,
    )
    return Ran(code, out.getvalue(), err.getvalue())


def resume(run_id: str | None = None, *, uploads: dict[str, Any] | None = None, **kwargs: Any) -> Ran:
    out, err = io.StringIO(), io.StringIO()
    settings = {"workers": 0, "concurrency": 4, **kwargs}
    code = commands.run_resume(
        run_id, out=out, err=err, uploader_options={**FAST_UPLOADS, **(uploads or {})}, **settings,
    )
    return Ran(code, out.getvalue(), err.getvalue())
