"""Every error this tool raises on purpose, in one place.

    SendTestImagesError          anything the tool reports instead of a traceback
    ├── UsageError               a bad value from the user: exit 2, nothing sent
    │   └── InvalidName          a file name that breaks the Photon Ranch naming rules
    ├── UploadError              one file could not be sent (carries the step and the answer)
    │   ├── ApiError             the presign call `POST {API}/upload` failed
    │   └── StorageError         the multipart POST to S3 failed (S3 Code and Message)
    ├── NumberingError           file numbers could not be reserved
    ├── JournalError             a run's journal could not be read or written
    ├── GenerationError          a worker process making exposures died
    └── LocalSiteError           the embedded local site could not start or answer

Foreign exceptions (httpx, botocore, OSError) are translated once, where they happen, with
`raise X(...) from exc`, so callers only ever catch these.
"""

from __future__ import annotations

from send_test_images.exitcodes import ExitCode


class SendTestImagesError(Exception):
    """Base class: the CLI prints `str(error)` on one line and exits with `exit_code`."""

    exit_code: int = ExitCode.FAILED


class UsageError(SendTestImagesError, ValueError):
    """The user asked for something that is not allowed; the message names value and rule."""

    exit_code = ExitCode.USAGE


class InvalidName(UsageError):
    """A file name or one of its parts breaks the naming rules of the protocol page, §2."""


class UploadError(SendTestImagesError):
    """One file was not sent.

    `retryable` tells the upload loop whether trying again can help (timeouts, 5xx, SlowDown,
    an expired policy) or not (any other 4xx).
    """

    def __init__(
        self,
        message: str,
        *,
        key: str | None = None,
        status: int | None = None,
        code: str | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.key = key
        self.status = status
        self.code = code
        self.retryable = retryable


class ApiError(UploadError):
    """`POST {API}/upload` did not give a presigned POST."""


class StorageError(UploadError):
    """S3 refused or lost the multipart POST; `code` is S3's `<Code>`."""


class NumberingError(SendTestImagesError):
    """The counter file could not be locked, read or written."""


class JournalError(SendTestImagesError):
    """A run's journal could not be created, read or written; the message names the file."""


class GenerationError(SendTestImagesError):
    """A generation worker died (killed, out of memory, or an unguarded caller script re-run)."""


class LocalSiteError(SendTestImagesError):
    """The local Photon Ranch (S3 server, API or ingestion) could not start or answer."""
