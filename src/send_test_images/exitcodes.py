"""Exit codes, in one place, so scripts driving the tool can rely on them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # something was not sent or not made; the output says what
    USAGE = 2  # a bad value on the command line; nothing was sent
    INTERRUPTED = 130  # Ctrl-C; what finished stays finished
