"""How and where to send a run, as typed records (import-light: the parser builds them).

The command line makes these once, right after parsing (cli/options.py), so a bad value is
refused before any local site starts or any number is reserved. Each record also checks itself
in `__post_init__`: cheap, and it gives a library caller the same one-line refusals the command
line gives. Nothing downstream checks these values again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from send_test_images import defaults
from send_test_images.errors import UsageError
from send_test_images.exposure.options import BatchOptions
from send_test_images.sending import targets

MAX_CONCURRENCY = 256
MAX_TIMEOUT = 86_400.0
"""Seconds: a day of silence. Sockets cannot wait for the far larger numbers a float can hold."""
MIN_RATE = 1 / 86_400
"""Exposures per second: one a day. A slower rate is a pause longer than a thread can sleep."""
MAX_DURATION = 31_536_000.0
"""Seconds: a year of sending, far beyond any soak test, still a deadline the clock can hold."""


@dataclass(frozen=True)
class SendOptions:
    """How hard to push (`up` and `resume` alike).

    `uploader` passes further keywords to `client.Uploader` (backoff times, a transport): tests
    and benchmarks use it, the command line does not.
    """

    concurrency: int | None = defaults.CONCURRENCY
    """None: the run's own default, `defaults.CONCURRENCY` or its `--like` preset's (for `resume`)."""
    workers: int = defaults.WORKERS
    rate: float | None = None
    timeout: float = defaults.TIMEOUT
    retries: int = defaults.RETRIES
    report: Path | None = None
    uploader: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.concurrency is not None and (
            not _is_int(self.concurrency) or not 1 <= self.concurrency <= MAX_CONCURRENCY
        ):
            raise UsageError(f"concurrency {self.concurrency!r} is not allowed: use 1 to {MAX_CONCURRENCY}")
        if not _is_int(self.workers) or self.workers < 0:
            raise UsageError(f"workers {self.workers!r} is not allowed: use 0 (this process) or more")
        if self.rate is not None and not (_above_zero(self.rate) and self.rate >= MIN_RATE):
            raise UsageError(f"rate {self.rate!r} is not allowed: use exposures per second from 1/86400 (one a day) up")
        if not (_above_zero(self.timeout) and self.timeout <= MAX_TIMEOUT):
            raise UsageError(
                f"timeout {self.timeout!r} is not allowed: use a number of seconds above 0, at most {MAX_TIMEOUT:g}"
            )
        if not _is_int(self.retries) or self.retries < 0:
            raise UsageError(f"retries {self.retries!r} is not allowed: use 0 or more")
        if {"timeout", "retries"} & set(self.uploader):
            raise UsageError("timeout and retries are SendOptions fields: do not pass them in `uploader`")

    def uploader_options(self) -> dict[str, Any]:
        """Every keyword `client.Uploader` gets besides the API URL."""
        return {"timeout": self.timeout, "retries": self.retries, **self.uploader}


@dataclass(frozen=True)
class Destination:
    """Where a new run's files go. `target` is `local`, a stage name or a URL; it is resolved here.

    `$SEND_TEST_IMAGES_API` is the command line's business (cli/options.py reads it when --api is
    not given): a library caller says where its files go, and the default is the local site.
    """

    target: str = defaults.API
    s3_directory: str = defaults.S3_DIRECTORY
    channel: int = defaults.CHANNEL
    data: Path | None = None
    """The local site's data folder (only for `local`; default: the user data directory)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "target", targets.resolve_api(self.target))
        targets.check_destination(self.s3_directory, self.channel)

    @property
    def info_channel(self) -> int | None:
        """The channel the API is told about: only info images have one."""
        return self.channel if self.s3_directory == "info-images" else None


@dataclass(frozen=True)
class RunRequest:
    """Everything a new run needs: what to make, where to send it, how, and for how long.

    Without `duration` the run sends exactly `batch.repeat` exposures. With it, exposures are
    sent until the time is up, at most `cap` of them (None: no cap).
    """

    batch: BatchOptions = field(default_factory=BatchOptions)
    destination: Destination = field(default_factory=Destination)
    sending: SendOptions = field(default_factory=SendOptions)
    out_dir: Path | None = None
    """Also keep every generated file here (the spool is used otherwise)."""
    duration: float | None = None
    cap: int | None = None

    def __post_init__(self) -> None:
        if self.duration is not None and not (_above_zero(self.duration) and self.duration <= MAX_DURATION):
            raise UsageError(
                f"duration {self.duration!r} is not allowed: use seconds above 0, at most {MAX_DURATION:g}"
            )
        if self.cap is not None and (not _is_int(self.cap) or self.cap < 1):
            raise UsageError(f"repeat {self.cap!r} is not allowed: use a whole number >= 1")

    @property
    def exposures_wanted(self) -> int | None:
        """How many exposures the run will make at most, when that is known."""
        return self.batch.repeat if self.duration is None else self.cap


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _above_zero(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < float("inf")
