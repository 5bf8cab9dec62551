"""A second site racing the first on one data dir is told exactly who holds it.

Issue 11: the refusal said "pid ? at an unknown URL" while the first serve was still starting.
No weed is needed: the first start is held up by a stand-in weed that never answers.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from send_test_images.errors import LocalSiteError
from send_test_images.localsite import LocalSite
from send_test_images.localsite.site import LOCK_NAME, SITE_JSON

SLOW_WEED = "#!/bin/sh\nsleep 3\nexit 3\n"
"""Starts, never answers, gives up after 3 s: the first site is 'starting' for that long."""


def test_a_start_racing_a_starting_site_names_its_pid(tmp_path: Path) -> None:
    weed = tmp_path / "weed"
    weed.write_text(SLOW_WEED)
    weed.chmod(0o755)
    data = tmp_path / "data"
    first_failed: list[BaseException] = []

    def first() -> None:
        try:
            LocalSite.start(data, weed=weed)
        except LocalSiteError as exc:
            first_failed.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        deadline = 50
        while not (data / SITE_JSON).exists() and deadline:
            deadline -= 1
            thread.join(0.05)
        with pytest.raises(LocalSiteError) as refused:
            LocalSite.start(data, weed=weed)
    finally:
        thread.join()
    message = str(refused.value)
    assert f"is being served by pid {os.getpid()}, which is still starting" in message
    assert "retry in a few seconds" in message
    assert "?" not in message and "unknown URL" not in message
    assert first_failed, "the stand-in weed never answers, so the first start fails"


def test_a_lock_held_before_site_json_is_written_says_another_serve_is_starting(tmp_path: Path) -> None:
    (tmp_path / SITE_JSON).write_text(json.dumps({"pid": _dead_pid(), "api_url": "http://127.0.0.1:1"}))
    with (tmp_path / LOCK_NAME).open("a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(LocalSiteError) as refused:
            LocalSite.start(tmp_path)
    message = str(refused.value)
    assert message == (f"{tmp_path} is locked by another serve that is still starting: retry in a few "
                       "seconds, or choose another data dir")


def _dead_pid() -> int:
    """The pid of a process that has exited (a stale site.json left by a killed serve)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid
