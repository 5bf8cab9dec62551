"""A run's fixed cost: a 1-exposure `up` into a `serve` that is already running (goal < 1.5 s).

What a user pays before the first file leaves is imports, worker processes, asking the site for
its highest number, and the local site. A `serve` started once and left running takes the site's
own start-up out, as on a real site, so what is left is `up`'s: the whole process, wall time
and CPU (with its workers), from exec to exit. Alternating rounds with the pieces it is made of
(the interpreter alone, the command line's import, `up -h`) and a 20-exposure run (the equal-count
comparison with the original script; `--many`) show where it goes; medians and ranges, since the
machine is shared.

    python -m bench startup [--rounds 7] [--camera sq768] [--files hjtfF] [--many 20]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_upload import _served
from send_test_images import paths

MAIN = "from send_test_images.cli import run; run()"
"""The `send-test-images` command itself, as its console script runs it."""
GOAL_S = 1.5


def _timed(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one whole process with its workers (every child it waited for),
    start-up included; a failure stops the bench. CPU is what a shared machine's other tenants
    cannot take away, so it shows a change that the wall clock's noise hides."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[3:])} exited {done.returncode}: {done.stderr.strip()}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed, cpu


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench startup")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--camera", default="sq768")
    parser.add_argument("--files", default="hjtfF")
    parser.add_argument("--many", type=int, default=20, help="exposures of the second whole run (equal counts)")
    args = parser.parse_args(argv)
    cpus = set(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        home = Path(tmp)
        os.environ[paths.HOME_ENV] = str(home)
        with _served(home / "site", cpus) as api_url:
            kinds = {
                "python -c pass": [sys.executable, "-c", "pass"],
                "import the command line": [sys.executable, "-c", "import send_test_images.cli"],
                "up -h": [sys.executable, "-c", MAIN, "up", "-h"],
            }
            for count in (1, args.many):
                kinds[f"up -r {count} (whole run)"] = [
                    sys.executable, "-c", MAIN, "up", "--api", api_url, "--inst", "boot", "--camera", args.camera,
                    "-f", args.files, "-r", str(count)]
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in kinds}
            _timed(kinds["up -r 1 (whole run)"])  # warm the page cache and the site's first numbers
            for _ in range(args.rounds):
                for name, command in kinds.items():
                    times[name].append(_timed(command))
    print(f"{args.rounds} alternating rounds, camera {args.camera}, files {args.files}, "
          f"load average {os.getloadavg()[0]:.2f}")
    for name, values in times.items():
        wall, cpu = [v[0] for v in values], [v[1] for v in values]
        print(f"  {name:28s} median {statistics.median(wall):.3f} s (range {min(wall):.3f}-{max(wall):.3f}), "
              f"CPU {statistics.median(cpu):.3f} s ({min(cpu):.3f}-{max(cpu):.3f})")
    whole = statistics.median(v[0] for v in times["up -r 1 (whole run)"])
    print(f"1-exposure up: {whole:.2f} s (goal < {GOAL_S} s): {'met' if whole < GOAL_S else 'NOT met'}")
    return 0 if whole < GOAL_S else 1
