"""A run's events as the lines a person reads: the only place `up` and `resume` print.

The library tells what happens as typed events (sending/events.py); `TextView` is the observer
that writes each one as the line the command has always printed, on stdout or, for what is left
to do, on stderr. While files are sent it hands them to `Progress` (a bar on a terminal, one line
per file otherwise).
"""

from __future__ import annotations

import shlex
from typing import TextIO

from send_test_images.cli.progress import Progress, is_terminal
from send_test_images.invocation import PROG, command
from send_test_images.sending.events import (
    Event,
    FileFailed,
    FileSent,
    NothingOwed,
    NothingToResume,
    RunOwes,
    RunReopened,
    RunResult,
    RunSettled,
    RunSkipped,
    RunStarted,
    SendingStarted,
    SendingStopped,
    SiteDone,
    SiteStarted,
    SiteStarting,
)
from send_test_images.sending.summary import format_summary


def owed_text(result: RunResult) -> str:
    """`188 of 200 exposure(s) not sent (3 file(s) made and waiting, 185 exposure(s) not made yet)`."""
    planned = result.stats.exposures_planned
    of = f" of {planned}" if planned is not None else ""
    parts = [f"{result.files_left} file(s) made and waiting"] if result.files_left else []
    if result.exposures_not_made:
        parts.append(f"{result.exposures_not_made} exposure(s) not made yet")
    return f"{result.exposures_left}{of} exposure(s) not sent ({', '.join(parts)})"


class TextView:
    """Observer for `sending.run`: prints every event; thread-safe for the per-file ones."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err
        self._progress: Progress | None = None
        self.run_id: str | None = None
        """The run being sent (for the resume hint of an error that ends it)."""
        self.skipped = 0

    def __call__(self, event: Event) -> None:
        out, err = self.out, self.err
        match event:
            case SiteStarting(data_dir):
                self._say(f"starting a local Photon Ranch in {data_dir} (no serve is running on it)…", flush=True)
            case SiteStarted(api_url):
                self._say(f"started a local Photon Ranch at {api_url} for this run "
                          f"(`{command('serve')}` keeps one running)", flush=True)
            case SiteDone(api_url, owned=True, data=data):
                serve = command("serve", *(("--data", shlex.quote(str(data))) if data is not None else ()))
                self._say(f"the local site stops with this command; to look at the images, run "
                          f"`{serve}` and open the observe page it prints")
            case SiteDone(api_url, owned=False):
                self._say(f"look at them on the observe page: {api_url}/")
            case RunStarted():
                self.run_id = event.run_id
                if event.duration:
                    what = f"for {event.duration:g} s" + (
                        f" (at most {event.cap} exposure(s))" if event.cap else "")
                else:
                    what = f"{event.exposures} exposure(s)"
                self._say(f"sending {what} to {event.api_url}: site {event.site}, numbers from "
                          f"{event.first_number}, seed {event.seed}, run {event.run_id}", flush=True)
            case RunReopened():
                self.run_id = event.run_id
                self._say(f"resuming run {event.run_id} to {event.api_url}: {event.files_owed} file(s) of "
                          f"{event.exposures_owed} exposure(s) to send, {event.exposures_to_make} exposure(s) "
                          "to make first", flush=True)
            case NothingOwed(run_id):
                self._say(f"run {run_id}: nothing left to send")
            case RunSkipped(run_id, reason):
                self.skipped += 1
                print(f"{PROG}: skipped run {run_id}: {reason}", file=err, flush=True)
            case NothingToResume(runs_dir):
                self._say(f"nothing to resume: every run in {runs_dir} has sent everything")
            case SendingStarted(stats):
                self._progress = Progress(stats, out, bar=is_terminal(out)).__enter__()
            case FileSent(result):
                if self._progress is not None:
                    self._progress.sent(result)
            case FileFailed(key, error):
                if self._progress is not None:
                    self._progress.failed(key, error)
            case SendingStopped():
                if self._progress is not None:
                    self._progress.__exit__(None, None, None)
                    self._progress = None
            case RunSettled(result):
                stats = result.stats
                print(
                    f"sent {stats.files_sent} file(s), {stats.bytes_sent / 1e6:.1f} MB; {stats.files_failed} failed",
                    file=err if result.owes else out,
                )
                for line in format_summary(result.summary):
                    self._say(line)
            case RunOwes(result):
                line = f"{owed_text(result)}; resume with: {command('resume', result.run_id)}"
                if result.target_down is not None:
                    line = f"{PROG}: stopped: the target is down ({result.target_down}); {line}"
                print(line, file=err, flush=True)

    def resume_hint(self) -> str:
        """What to type to finish the run this view was showing, or '' when it started none."""
        return command("resume", self.run_id) if self.run_id else ""

    def _say(self, line: str, *, flush: bool = False) -> None:
        print(line, file=self.out, flush=flush)
