"""A run's events as the lines a person reads: the only place `up` and `resume` print.

The library tells what happens as typed events (sending/events.py); `TextView` is the observer
that writes each one as the line the command has always printed, on stdout or, for what is left
to do, on stderr. While files are sent it hands them to `Progress` (a bar on a terminal, one line
per file otherwise).
"""

from __future__ import annotations

from typing import TextIO

from send_test_images.cli.progress import Progress, is_terminal
from send_test_images.sending.events import (
    Event,
    FileFailed,
    FileSent,
    NothingOwed,
    NothingToResume,
    RunOwes,
    RunReopened,
    RunSettled,
    RunStarted,
    SendingStarted,
    SendingStopped,
    SiteDone,
    SiteStarted,
)
from send_test_images.sending.summary import format_summary

PROG = "send-test-images"


class TextView:
    """Observer for `sending.run`: prints every event; thread-safe for the per-file ones."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err
        self._progress: Progress | None = None

    def __call__(self, event: Event) -> None:
        out, err = self.out, self.err
        match event:
            case SiteStarted(api_url):
                self._say(f"started a local Photon Ranch at {api_url} for this run "
                          f"(`{PROG} serve` keeps one running)", flush=True)
            case SiteDone(api_url, owned=True):
                self._say(f"the local site stops with this command; to look at the images, run "
                          f"`{PROG} serve` and open the observe page it prints")
            case SiteDone(api_url, owned=False):
                self._say(f"look at them on the observe page: {api_url}/")
            case RunStarted():
                if event.duration:
                    what = f"for {event.duration:g} s" + (
                        f" (at most {event.cap} exposure(s))" if event.cap else "")
                else:
                    what = f"{event.exposures} exposure(s)"
                self._say(f"sending {what} to {event.api_url}: site {event.site}, numbers from "
                          f"{event.first_number}, seed {event.seed}, run {event.run_id}", flush=True)
            case RunReopened():
                self._say(f"resuming run {event.run_id} to {event.api_url}: {event.files_owed} file(s) of "
                          f"{event.exposures_owed} exposure(s) to send, {event.exposures_to_make} exposure(s) "
                          "to make first", flush=True)
            case NothingOwed(run_id):
                self._say(f"run {run_id}: nothing left to send")
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
                left = f"{result.files_left} file(s) not sent" + (
                    f" and {result.exposures_not_made} exposure(s) not made yet" if result.exposures_not_made else ""
                )
                print(f"{left}; send them with: {PROG} resume {result.run_id}", file=err, flush=True)

    def _say(self, line: str, *, flush: bool = False) -> None:
        print(line, file=self.out, flush=flush)
