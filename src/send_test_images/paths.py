"""Where the tool keeps its state on the user's machine.

Everything lives under one root so that tests (and users who want a throwaway setup) can move
it all with a single environment variable, `SEND_TEST_IMAGES_HOME`. Without it, the platform's
usual per-user state and data directories are used (e.g. ~/.local/state, ~/.local/share).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "send-test-images"
HOME_ENV = "SEND_TEST_IMAGES_HOME"


def _root(kind: str) -> Path:
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override) / kind
    if kind == "state":
        return Path(platformdirs.user_state_dir(APP_NAME))
    return Path(platformdirs.user_data_dir(APP_NAME))


def state_dir() -> Path:
    """File-number counters and the upload journal: small, must survive reboots."""
    path = _root("state")
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """The local site's S3 objects and database: large, user data."""
    path = _root("data")
    path.mkdir(parents=True, exist_ok=True)
    return path
