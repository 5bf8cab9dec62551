"""What every `up` pays once, whatever its size, is paid once: not once per worker, and not for
what the run does not use. Each probe is a whole `up` in a fresh interpreter (the only way to see
what a process imports and which process reads what), against the scriptable loopback API/S3.

The costs are measured in bench/README.md ("Start-up"); these tests keep them from coming back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from inprocess import CAMERA, FILES
from loopback_server import LoopbackServer


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


def run_probe(probe: str, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=120,
                            check=False, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert result.returncode == 0, result.stderr
    return result


CATALOGUE_READERS = """
import os, sys
from send_test_images.exposure.sky import catalogue
from send_test_images.cli import main

readers, api_url, camera, files = sys.argv[1:]
real = catalogue.read_stars

def read_stars(path):
    with open(readers, "a") as f:
        f.write(f"{os.getpid()}\\n")
    return real(path)

catalogue.read_stars = read_stars
code = main(["up", "--api", api_url, "--inst", "once", "--camera", camera, "-f", files, "-r", "5"])
print(os.getpid())
sys.exit(code)
"""


def test_generator_workers_inherit_the_catalogue_the_runs_first_exposure_read(
    server: LoopbackServer, tmp_path: Path
) -> None:
    """The star catalogue is read and indexed once per run (~0.05-0.2 s of CPU), by `up` itself,
    as it makes the first exposure; the workers fork after it and never read it again."""
    readers = tmp_path / "readers"
    result = run_probe(CATALOGUE_READERS, str(readers), server.url, CAMERA, FILES)
    up_pid = result.stdout.split()[-1]
    assert readers.read_text().split() == [up_pid]
    numbers = {key.split("-")[3] for key in server.objects}
    assert len(numbers) == 5 and len(server.objects) == 5 * len(FILES)


OPTIONAL_IMPORTS = """
import sys
from send_test_images.cli import main

code = main(["up", "--api", sys.argv[1], "--inst", "lean", "--camera", sys.argv[2], "-f", "h", "-r", "1"])
print(sorted({m.split(".")[0] for m in sys.modules} & {"tqdm", "rich", "click", "pygments"}), file=sys.stderr)
print([m for m in ["httpx._main"] if sys.modules.get(m) is not None], file=sys.stderr)
sys.exit(code)
"""


def test_up_with_its_output_captured_loads_neither_tqdm_nor_httpxs_command_line(server: LoopbackServer) -> None:
    """A log or CI run (stdout not a terminal) prints a line per file: no tqdm (~20 ms of its
    start-up), and httpx's own command-line client (click, rich, pygments: ~35 ms) never."""
    result = run_probe(OPTIONAL_IMPORTS, server.url, CAMERA)
    assert result.stderr.splitlines()[-2:] == ["[]", "[]"]
    assert len(server.objects) == 1
