"""`up` as a person at a terminal sees it, and as Ctrl-C leaves it: a real `up` process on a
pseudo-terminal of a given width (its output replayed through pyte, a terminal emulator, to get
the screen a person would read), and a real SIGINT to a real `up`, into the session's local site."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import pyte
import pytest

from send_test_images.exitcodes import ExitCode
from send_test_images.invocation import command
from send_test_images.localsite import LocalSite

pytestmark = pytest.mark.s3

UP = [sys.executable, "-c", "import sys; from send_test_images.cli import main; sys.exit(main())", "up"]
SMALL = ["--camera", "sq768", "-f", "h", "--workers", "1"]
WAIT_S = 120.0
ROWS = 200


def run_on_a_terminal(columns: int, argv: list[str]) -> tuple[int, str, list[str]]:
    """Run `argv` with a pty of `columns` as its terminal: exit code, what it wrote, the screen."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, columns, 0, 0))
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    written = b""
    deadline = time.monotonic() + WAIT_S
    try:
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 1.0)[0]:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the other end is closed: the process has exited
                break
            if not chunk:
                break
            written += chunk
        code = process.wait(timeout=WAIT_S)
    finally:
        process.kill()
        os.close(master)
    screen = pyte.Screen(columns, ROWS)
    pyte.ByteStream(screen).feed(written)
    return code, written.decode(), [row.rstrip() for row in screen.display if row.strip()]


@pytest.mark.parametrize("columns", [60, 120])
def test_on_a_terminal_one_line_is_redrawn_with_eta_and_rates_and_ends_clean(
    local_site: LocalSite, columns: int
) -> None:
    code, written, screen = run_on_a_terminal(
        columns, [*UP, *SMALL, "-s", f"tty{columns}", "-r", "30", "--rate", "10", "--api", local_site.api_url],
    )
    assert code == ExitCode.OK, "\n".join(screen)

    # What is left on the screen: the run's lines, and exactly one row of progress, the final one,
    # right above the summary; no row left behind by a redraw that wrapped.
    progress_rows = [row for row in screen if "exp/s" in row or "making the first" in row]
    assert len(progress_rows) == 1, "\n".join(screen)
    [final] = progress_rows
    at = screen.index(final)
    assert screen[at + 1].startswith("sent 30 file(s)")
    assert screen[at + 2].startswith("sent 30 of 30 exposure(s)")
    if columns >= 80:
        assert re.fullmatch(r"100%\|█+\| 30/30 exposures in \d\d:\d\d \[[\d.]+ exp/s, [\d.]+ MB/s, 0 errors\]", final)
    else:
        assert re.fullmatch(r"30/30 exposures in \d\d:\d\d, [\d.]+ exp/s, [\d.]+ MB/s, 0 errors", final)

    # While it ran: every redraw fits the width, and the line said what is known when.
    drawn = written[written.index("sending 30 exposure(s)"):written.index("sent 30 file(s)")].split("\r")[1:]
    assert len(drawn) >= 5, drawn  # redrawn in place, several times (3 s at 10 exposures a second)
    assert all(len(part.strip("\n")) <= columns for part in drawn), [p for p in drawn if len(p) > columns]
    assert "0/0" not in written
    assert any(part.startswith("0/30 exposures: making the first one") for part in drawn), drawn[:3]
    running = [part for part in drawn if re.search(r"\b[1-9]\d?/30\b", part) and "<" in part]
    assert running, drawn
    eta_and_rates = r"\d\d:\d\d<\d\d:\d\d[ ,] +[\d.]+ exp/s.*MB/s.*0 errors"  # elapsed<ETA, exposures/s, ...
    assert any(re.search(eta_and_rates, part) for part in running), running
    if columns < 80:
        assert not any("|" in part for part in drawn)  # no room for a bar: numbers only


def test_ctrl_c_says_how_many_of_the_planned_exposures_were_sent_and_how_to_send_the_rest(
    local_site: LocalSite,
) -> None:
    process = subprocess.Popen(
        [*UP, *SMALL, "-s", "ctrlc", "-r", "200", "--rate", "8", "--api", local_site.api_url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        first_line = process.stdout.readline()
        sent = 0
        while sent < 12:
            line = process.stdout.readline()
            assert line, "up ended before 12 exposures were sent"
            sent += " 204 OK" in line
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=WAIT_S)
    finally:
        process.kill()

    assert process.returncode == ExitCode.INTERRUPTED, err
    [summary] = [line for line in out.splitlines() if line.startswith("sent ") and "exposure" in line]
    done = int(re.match(r"sent (\d+) of 200 exposure\(s\), ", summary)[1])  # type: ignore[index]
    assert 12 <= done < 200
    last = err.strip().splitlines()[-1]
    run_id = re.search(r", run (\S+)$", first_line)[1]  # type: ignore[index]
    assert last.startswith(f"{200 - done} of 200 exposure(s) not sent (")
    assert last.endswith(f"; resume with: {command('resume', run_id)}")
