"""Output that outlives its reader: `up … | head` must not stop a run halfway.

When the program reading our output exits (`| head`, `| grep -m1`, a closed terminal pipe),
every later write raises BrokenPipeError. Raised from an upload thread's progress line, that
killed the thread with a traceback and left the run's remaining files unsent. What was asked
for is the run; the lines are only a view of it. So the first broken pipe points the stream's
file descriptor at the null device (Python's own flush at exit then has nowhere to fail) and
every later write is dropped; the run goes on and its exit code says how it went.
"""

from __future__ import annotations

import contextlib
import os
from typing import TextIO


class ReaderGoneSafe:
    """A text stream whose writes are dropped, silently, once its reader has gone away."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.reader_gone = False

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._gone()
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._gone()

    def isatty(self) -> bool:
        return not self.reader_gone and self._stream.isatty()

    def __getattr__(self, name: str) -> object:  # fileno, encoding, … as the wrapped stream's
        return getattr(self._stream, name)

    def _gone(self) -> None:
        self.reader_gone = True
        with contextlib.suppress(OSError, ValueError, AttributeError):  # not a real file: nothing to redirect
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, self._stream.fileno())
            finally:
                os.close(null)


def reader_gone_safe(stream: TextIO) -> TextIO:
    """`stream`, wrapped once (a stream already wrapped is returned as it is)."""
    if isinstance(stream, ReaderGoneSafe):
        return stream
    return ReaderGoneSafe(stream)  # type: ignore[return-value]
