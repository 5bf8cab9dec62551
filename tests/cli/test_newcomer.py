"""What a newcomer runs first, run the way they run it: `./dev --help`, `python up.py ...`, `make`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="the tests run outside a venv")
@pytest.mark.skipif(not (REPO / ".venv" / "bin" / "python").exists(), reason="no .venv here (./dev makes it)")
def test_up_py_run_with_the_interpreter_that_built_the_venv_re_runs_itself_there(tmp_path: Path) -> None:
    # .venv/bin/python is a symlink to this very interpreter: comparing executables sees no
    # difference, and without the venv's packages the script used to stop at "not installed".
    base = Path(sys._base_executable)  # type: ignore[attr-defined]
    result = subprocess.run(
        [str(base), str(REPO / "up.py"), "--dry-run", "--camera", "sq768", "-f", "h", "--seed", "1",
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "would send data/tst-inst-" in result.stdout


def test_dev_help_prints_the_usage_and_nothing_of_the_script() -> None:
    result = subprocess.run([str(REPO / "dev"), "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("One entry point")
    assert any(line.strip().startswith("./dev test") for line in lines)
    assert not any("set -" in line or line.startswith("#") for line in lines), lines


def test_the_folder_make_writes_by_default_is_ignored_by_git() -> None:
    result = subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", "generated/x.fits.fz"], timeout=30)
    assert result.returncode == 0, "make's default --out folder would show up in `git status`"
