"""What a newcomer runs first, run the way they run it: `./dev --help`, `python up.py ...`, `make`."""

from __future__ import annotations

import argparse
import contextlib
import io
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from send_test_images import cli
from send_test_images.cli import options
from send_test_images.cli.view import TextView
from send_test_images.invocation import PROG, PROG_ENV, program
from send_test_images.sending.events import SiteDone

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


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    [choices] = [a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(choices)  # type: ignore[arg-type]


def _valued_options() -> list[tuple[str, argparse.Action]]:
    """Every option of every command that takes a value (not -h, not a flag)."""
    return [(name, action) for name, sub in _subcommands().items() for action in sub._actions
            if action.option_strings and action.nargs != 0]


@pytest.mark.parametrize(("command", "action"), _valued_options(),
                         ids=lambda x: x if isinstance(x, str) else x.option_strings[-1])
def test_every_option_shows_a_placeholder_that_says_what_to_type_and_its_default(
    command: str, action: argparse.Action
) -> None:
    # argparse's own placeholder is the option's name shouting (--concurrency CONCURRENCY).
    shown = action.metavar or ("{" + ",".join(map(str, action.choices)) + "}" if action.choices else None)
    assert shown is not None and shown != action.dest.upper(), f"{command} {action.option_strings}: {shown}"
    assert "(default: " in (action.help or ""), f"{command} {action.option_strings} does not show its default"
    assert shown in _subcommands()[command].format_help()


@pytest.mark.parametrize("command", ["up", "serve", "resume", "make", ""])
def test_each_help_page_a_newcomer_reads_ends_with_examples_that_parse(command: str) -> None:
    argv = [command, "-h"] if command else ["-h"]
    out = io.StringIO()
    with pytest.raises(SystemExit), contextlib.redirect_stdout(out):
        cli.build_parser().parse_args(argv)
    text = out.getvalue()
    assert "\nexamples:\n" in text
    examples = [line.strip() for line in text.split("\nexamples:\n", 1)[1].splitlines()
                if line.startswith(f"  {program()} ")]
    assert len(examples) >= (2 if command else 5), text  # the top page: one for each command
    assert {shlex.split(line.removeprefix(program()))[0] for line in examples} >= (
        {command} if command else {"up", "serve", "resume", "make", "load"})
    for line in examples:
        words = shlex.split(line.removeprefix(program()))
        parsed = cli.build_parser().parse_args(words)  # refuses a stale example with SystemExit/UsageError
        options.from_args(parsed)  # and so do the records' own checks


def test_examples_name_the_command_the_way_it_was_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROG_ENV, "./dev")
    out = io.StringIO()
    with pytest.raises(SystemExit), contextlib.redirect_stdout(out):
        cli.build_parser().parse_args(["up", "-h"])
    assert "\n  ./dev up -r 20 " in out.getvalue()


def _hinted_serve_command(monkeypatch: pytest.MonkeyPatch, path: str) -> str:
    """The command `up` tells the user to run once its private site stops, with PATH = `path`."""
    monkeypatch.setenv("PATH", path)
    out = io.StringIO()
    TextView(out, io.StringIO())(SiteDone("http://127.0.0.1:1", owned=True))
    return out.getvalue().split("`")[1]


@pytest.mark.skipif(not (Path(sys.executable).parent / PROG).exists(), reason="no console script beside this Python")
def test_a_hint_names_a_command_that_runs_when_the_console_script_is_not_on_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Right after `./dev up`, .venv/bin is not on PATH: "send-test-images serve" was not found.
    monkeypatch.delenv(PROG_ENV, raising=False)
    hint = _hinted_serve_command(monkeypatch, str(tmp_path))
    assert hint.endswith(" serve")
    program_words = shlex.split(hint.removesuffix(" serve"))
    ran = subprocess.run([*program_words, "--version"], capture_output=True, text=True, timeout=60,
                         env={"PATH": str(tmp_path)})
    assert ran.returncode == 0 and ran.stdout.startswith(f"{PROG} "), ran.stderr


def test_a_hint_says_send_test_images_when_path_finds_this_installation_and_dev_when_run_by_dev(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(PROG_ENV, raising=False)
    ours = Path(sys.executable).parent
    if (ours / PROG).exists():
        assert _hinted_serve_command(monkeypatch, f"{ours}:/usr/bin:/bin") == f"{PROG} serve"
    monkeypatch.setenv(PROG_ENV, "./dev")
    assert _hinted_serve_command(monkeypatch, "/usr/bin:/bin") == "./dev serve"



def test_the_serve_hint_names_the_data_folder_the_run_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # `up --data DIR` then "run serve" without --data would show another, empty site.
    monkeypatch.setenv(PROG_ENV, "./dev")
    out = io.StringIO()
    TextView(out, io.StringIO())(SiteDone("http://127.0.0.1:1", owned=True, data=tmp_path / "my site"))
    assert f"`./dev serve --data {shlex.quote(str(tmp_path / 'my site'))}`" in out.getvalue()
