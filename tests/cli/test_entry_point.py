"""The `send-test-images` command as its console script runs it (`cli.run`): it leaves without the
interpreter's teardown, and still says everything and exits with the command's own code."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from send_test_images.exitcodes import ExitCode
from send_test_images.localsite import LocalSite

ROOT = Path(__file__).resolve().parents[2]
RUN = [sys.executable, "-c", "from send_test_images.cli import run; run()"]
TIMEOUT = 120


def test_the_console_script_is_run() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["send-test-images"] == "send_test_images.cli:run"


@pytest.mark.s3
def test_a_run_says_everything_before_it_leaves(local_site: LocalSite) -> None:
    done = subprocess.run([*RUN, "up", "--api", local_site.api_url, "--inst", "leave", "--camera", "sq768",
                           "-f", "hj", "-r", "3"], capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert sum(" 204 OK " in line for line in lines) == 6
    assert lines[-1].startswith("latency S3 POST:"), done.stdout  # the summary's last line, flushed
    assert done.stderr == ""


def test_a_refused_value_keeps_its_exit_code_and_its_line() -> None:
    done = subprocess.run([*RUN, "up", "-r", "0"], capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == ExitCode.USAGE
    assert done.stderr.count("\n") == 1 and "-r" in done.stderr, done.stderr


@pytest.mark.s3
def test_up_py_leaves_the_same_way(local_site: LocalSite) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "up.py"), "--api", local_site.api_url, "--inst", "leaveup",
                           "--camera", "sq768", "-f", "h", "-r", "1"], capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert "sent 1 of 1 exposure(s)" in done.stdout
