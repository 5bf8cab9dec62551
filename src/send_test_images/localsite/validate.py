"""Input rules for the local API: what a request may name, so nothing reaches outside its key space.

The real service puts any `object_name` after `{s3_directory}/`; here a name must be a plain file
name that cannot climb (`..`), nest (`/`), hide (a leading dot), smuggle bytes (NUL, non-ASCII) or
outgrow a file system entry. Every Photon Ranch name (protocol §2) passes. Each check returns the
sentence a user reads, or None: the routes turn it into a 4xx, never an exception.
"""

from __future__ import annotations

import re
from typing import Any

from send_test_images.errors import InvalidName
from send_test_images.exposure import naming
from send_test_images.localsite.rules import INFO_CHANNELS, S3_DIRECTORIES

MAX_OBJECT_NAME = 255
"""One file-system name; far above the ~45 characters a Photon Ranch name needs."""
OBJECT_NAME_CHARACTERS = "A-Z a-z 0-9 . _ + -"
_OBJECT_NAME = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9._+-]*")

MAX_PATH_PARAM = 128
"""Sites and base filenames in paths: a base filename is at most 29 characters (protocol §2)."""
_PATH_PARAM = re.compile(r"[A-Za-z0-9._+-]+")

BAD_DIRECTORY = "s3_directory must be either 'data', 'info-images', or 'allsky'."
"""The real service's message, word for word (it accepts `test` too, but does not say so)."""
BAD_CHANNEL = "Value for info_channel must be either 1, 2, or 3. Received {value} instead."
MAX_ECHO = 60
"""Echo at most this much of a bad value back, so an answer stays one readable line."""


def echo(value: Any) -> str:
    """A bad value as a short, printable repr for an error message."""
    text = repr(value)
    return text if len(text) <= MAX_ECHO else text[: MAX_ECHO - 3] + "..."


def object_name_problem(name: Any) -> str | None:
    """Why `name` may not be stored, or None when it is a safe bare file name."""
    if not isinstance(name, str) or not name:
        return f"object_name {echo(name)} is not allowed: give the bare file name as a string"
    if len(name) > MAX_OBJECT_NAME:
        return f"object_name is {len(name)} characters long: at most {MAX_OBJECT_NAME} are allowed"
    if "/" in name or "\\" in name:
        return f"object_name {echo(name)} is not allowed: give a bare file name, without '/'"
    if ".." in name:
        return f"object_name {echo(name)} is not allowed: it may not contain '..'"
    if not _OBJECT_NAME.fullmatch(name):
        return (
            f"object_name {echo(name)} is not allowed: use only {OBJECT_NAME_CHARACTERS} "
            "(ASCII), not starting with '.'"
        )
    return None


def directory_problem(directory: Any) -> str | None:
    """The real service's 403 text for a directory it does not know."""
    return None if isinstance(directory, str) and directory in S3_DIRECTORIES else BAD_DIRECTORY


def channel_value(channel: Any) -> int | None:
    """1, 2 or 3 from a JSON number (1.0 counts, `true` does not), else None."""
    if isinstance(channel, int | float) and not isinstance(channel, bool) and channel in INFO_CHANNELS:
        return int(channel)
    return None


def path_param_problem(what: str, value: str) -> str | None:
    """Why a site or base filename in a URL path cannot name anything, or None."""
    if not value or len(value) > MAX_PATH_PARAM or not _PATH_PARAM.fullmatch(value):
        return (
            f"{what} {echo(value)} is not allowed: use 1 to {MAX_PATH_PARAM} of "
            f"{OBJECT_NAME_CHARACTERS} (ASCII)"
        )
    return None


def reservation_problem(site: Any, inst: Any, count: Any, after: Any) -> str | None:
    """Why a request for file numbers cannot be answered, or None: names as files carry them."""
    for check, value in ((naming.check_site, site), (naming.check_inst, inst)):
        try:
            check(value)
        except InvalidName as exc:
            return str(exc)
    for what, value, lowest in (("count", count, 1), ("after", after, 0)):
        whole = isinstance(value, int) and not isinstance(value, bool)
        if not whole or not lowest <= value <= naming.MAX_FILE_NUMBER:
            return f"{what} {echo(value)} is not allowed: use a whole number from {lowest} to {naming.MAX_FILE_NUMBER}"
    return None
