"""What a run tells its caller as it goes: small typed events, one observer callable.

The library never prints. `sending.run` hands each event to `observe(event)`; the command line
(cli/view.py) turns them into its lines of text, a test collects them in a list, and a script
that wants silence passes nothing. `FileSent` and `FileFailed` come from the upload threads, so
an observer must be thread-safe for those two; every other event comes from the caller's thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from send_test_images.errors import UploadError
from send_test_images.exitcodes import ExitCode
from send_test_images.sending.client import UploadResult
from send_test_images.sending.summary import RunStats


@dataclass(frozen=True)
class SiteStarting:
    """`local` has no site running on its data folder: one is being started (it takes seconds)."""

    data_dir: Path


@dataclass(frozen=True)
class SiteStarted:
    """`local` had no site running on its data folder, so one was started for this run."""

    api_url: str


@dataclass(frozen=True)
class SiteDone:
    """The run is over; `owned` says whether the site stops now (True) or keeps running."""

    api_url: str
    owned: bool
    data: Path | None = None
    """The data folder the user chose (--data), so "run serve" can name it; None: the default."""


@dataclass(frozen=True)
class RunStarted:
    """A new run reserved its first numbers and journaled itself."""

    run_id: str
    api_url: str
    site: str
    first_number: int
    seed: int
    exposures: int
    duration: float | None
    cap: int | None


@dataclass(frozen=True)
class RunReopened:
    """`resume` holds the run's journal and knows what it owes."""

    run_id: str
    api_url: str
    files_owed: int
    exposures_owed: int
    exposures_to_make: int


@dataclass(frozen=True)
class NothingOwed:
    """`resume RUN`: that run has sent everything already."""

    run_id: str


@dataclass(frozen=True)
class RunSkipped:
    """`resume` without a run id: this run cannot be finished now (`reason`); the others go on."""

    run_id: str
    reason: str


@dataclass(frozen=True)
class NothingToResume:
    """`resume` without a run: every journaled run has sent everything."""

    runs_dir: Path


@dataclass(frozen=True)
class SendingStarted:
    """Uploads begin; `stats` fills as they go (a progress display reads it)."""

    stats: RunStats


@dataclass(frozen=True)
class SendingStopped:
    """Uploads are over (done, out of time, interrupted or failed)."""

    stats: RunStats


@dataclass(frozen=True)
class FileSent:
    """S3 answered 204 and the journal says so (from an upload thread)."""

    result: UploadResult


@dataclass(frozen=True)
class FileFailed:
    """A file was given up on for this run; it stays owed (from an upload thread)."""

    key: str
    error: UploadError


@dataclass(frozen=True)
class RunResult:
    """How a run ended: what it sent, and what it still owes (and so what `resume` will send)."""

    run_id: str
    api_url: str
    stats: RunStats
    summary: dict[str, Any]
    """The plain-value summary (`summary.summarize`): what --report writes as JSON."""
    files_left: int
    exposures_not_made: int
    interrupted: bool
    target_down: str | None = None
    """Set when the run stopped early because the target could not be reached: the last error."""
    exposures_unsent: int = 0
    """Exposures made (journaled) with at least one file still owed."""

    @property
    def exposures_left(self) -> int:
        """Exposures not wholly sent: made with files owed, or not made yet."""
        return self.exposures_unsent + self.exposures_not_made

    @property
    def owes(self) -> bool:
        return bool(self.files_left or self.exposures_not_made)

    @property
    def exit_code(self) -> ExitCode:
        """OK when nothing is owed; INTERRUPTED after Ctrl-C left something; FAILED otherwise."""
        if not self.owes:
            return ExitCode.OK
        return ExitCode.INTERRUPTED if self.interrupted else ExitCode.FAILED


@dataclass(frozen=True)
class RunSettled:
    """The journal is settled (trimmed, marked done when nothing is owed); the totals are final."""

    result: RunResult


@dataclass(frozen=True)
class RunOwes:
    """After the summary (and --report): the run still owes files; `resume run_id` sends them."""

    result: RunResult


Event = (
    SiteStarting | SiteStarted | SiteDone | RunStarted | RunReopened | NothingOwed | RunSkipped | NothingToResume
    | SendingStarted | SendingStopped | FileSent | FileFailed | RunSettled | RunOwes
)

Observer = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The observer of a caller that wants no news: the results say everything."""
