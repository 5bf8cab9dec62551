"""Headers sent alone draw no pixels: `up -f h -r 200` against `up -f hjtfF -r 200` (issue 17,
goal: at least 20x faster).

Both are whole `up` processes, start-up included, into one `serve` started once and left
running (as bench startup does), alternating rounds so a noisy shared machine hurts both
alike. With every file a run draws each frame (0.3 s of a core at 4096²); with `-f h` it
writes each header from the frame's recipe (~5-10 ms) in its own process, no pool started.

    python -m bench headeronly [--rounds 2] [--repeat 200] [--camera sq4k]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench.bench_startup import MAIN, _timed
from bench.bench_upload import _served
from send_test_images import paths

GOAL = 20.0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench headeronly")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--camera", default="sq4k")
    args = parser.parse_args(argv)
    cpus = set(os.sched_getaffinity(0))
    kinds = {"-f h": "h", "-f hjtfF": "hjtfF"}
    times: dict[str, list[float]] = {name: [] for name in kinds}
    with tempfile.TemporaryDirectory(prefix="bench-headeronly-") as tmp:
        home = Path(tmp)
        os.environ[paths.HOME_ENV] = str(home)
        with _served(home / "site", cpus) as api_url:
            def command(files: str, repeat: int) -> list[str]:
                return [sys.executable, "-c", MAIN, "up", "--api", api_url, "--inst", "hdr",
                        "--camera", args.camera, "-f", files, "-r", str(repeat), "--seed", "1"]

            _timed(command("h", 1))  # warm the page cache and the site's first numbers
            for _ in range(args.rounds):
                for name, files in kinds.items():
                    times[name].append(_timed(command(files, args.repeat)))
    print(f"{args.rounds} alternating rounds, camera {args.camera}, -r {args.repeat}, whole process, "
          f"load average {os.getloadavg()[0]:.2f}")
    for name, values in times.items():
        print(f"  up {name:10s} median {statistics.median(values):7.2f} s "
              f"(range {min(values):.2f}-{max(values):.2f}), "
              f"{args.repeat / statistics.median(values):7.1f} exposures/s")
    ratio = statistics.median(times["-f hjtfF"]) / statistics.median(times["-f h"])
    print(f"-f h is {ratio:.1f}x faster than -f hjtfF (goal >= {GOAL:.0f}x): "
          f"{'met' if ratio >= GOAL else 'NOT met'}")
    return 0 if ratio >= GOAL else 1
