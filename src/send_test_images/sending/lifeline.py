"""Generator processes die with the process that started them, and ignore Ctrl-C.

`up` killed with SIGKILL runs no cleanup, and its forkserver and workers (~330 MB) used to live on
for good: each waits on a pipe that one of the others still holds open. So on Linux every one of
them asks the kernel for SIGKILL when its parent dies (`PR_SET_PDEATHSIG`): a worker forked from
`up` itself (the usual case, see `pipeline._make_pool`) when `up` dies; otherwise the forkserver
when `up` dies, and each worker (a child of the forkserver) when the forkserver does. A parent that
died before the request was made is caught by looking at the parent pid right after it.

A worker forked from `up` is born with SIGINT blocked and ignores it from its initializer on.
The forkserver's first import is `forkserver_preload` (the first of `pipeline.PRELOAD`), which
makes it die with `up` and ignore SIGINT. Ctrl-C on a terminal reaches
the whole process group, and the forkserver spends its first second importing numpy and astropy
before its own code ignores SIGINT: a Ctrl-C then printed a KeyboardInterrupt traceback from
inside multiprocessing. The main process handles Ctrl-C for everyone (one line, exit 130).
Elsewhere than Linux only the SIGINT part applies.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
"""prctl(2) option: the signal this process gets when the thread that forked it exits."""


def die_with_parent() -> None:
    """Ask for SIGKILL when the parent dies; exit now if it already has (best effort off Linux)."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent or parent == 1:  # the parent is gone already: nobody wants our work
        os._exit(1)


def ignore_ctrl_c() -> None:
    """Ctrl-C is the main process's to handle; a helper dying of it would only print noise."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def worker_started() -> None:
    """The initializer of every generator process."""
    ignore_ctrl_c()
    die_with_parent()

