"""How the person at the keyboard runs this program, so every hint names a command that works.

Right after `./dev up` the console script sits in `.venv/bin`, not on PATH: a hint that says
`send-test-images resume RUN` fails when typed. Every hint (the resume line, "run serve", the
help's examples) is built by `command()`, which names, in this order: what `./dev` said it was
called as ($SEND_TEST_IMAGES_PROG), `send-test-images` when PATH finds this very installation,
else the console script's absolute path.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

PROG = "send-test-images"
PROG_ENV = "SEND_TEST_IMAGES_PROG"
"""Set by `./dev` to how it was called (`./dev`): hints then say `./dev resume RUN`."""


def program() -> str:
    """The words that start this program from where the user is (no trailing space)."""
    told = os.environ.get(PROG_ENV, "").strip()
    if told:
        return told
    ours = Path(sys.executable).parent / PROG  # the console script installed beside this Python
    found = shutil.which(PROG)
    if found is not None and (not ours.exists() or _same_file(Path(found), ours)):
        return PROG
    if ours.exists():
        return str(ours.absolute())
    return PROG


def command(*words: str) -> str:
    """`send-test-images WORDS...` as the user should type it here (see `program`)."""
    return " ".join((program(), *words))


def _same_file(one: Path, other: Path) -> bool:
    try:
        return one.samefile(other)
    except OSError:
        return False
