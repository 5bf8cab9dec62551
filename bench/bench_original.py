"""`up` against the original script itself: same site, same files, whole processes, alternating.

    ./dev bench original [--rounds=3] [--exposures=200] [--original-exposures=10] [--equal=20]
                         [--camera=sq768] [--files=hjtfF] [--original-source=PATH]

The original is LCOGT/photonranch-helper-scripts `send_test_image/up.py`, unmodified but for its
API base URLs, in a venv of its own (bench/original_script.py: fetched once into the user cache;
without internet, `--original-source` names a checkout or git directory of that repository).

One local site (`serve`, started once and left running, as a real site is) takes both. It is
seeded with one image first: the original asks `latest_images/1` for its next file number and
crashes on an empty site. Each round runs, one after the other, with the site left to finish
ingesting between them:

    up -r EXPOSURES           original -r ORIGINAL_EXPOSURES
    up -r EQUAL               original -r EQUAL

each a whole process timed from exec to exit (imports, worker processes, numbering, every file's
204). Both send the 768 px frames the original draws (`--camera sq768`), files `hjtfF`, data type
EX. Nothing is pinned to a CPU: one machine, as a developer runs them. Each line also gives the
CPU an exposure cost, the timed process with its workers apart from the local site (serve, weed),
since on two shared cores the sum of both is what sets `up`'s rate. Goals (issue 17): `up -r
200` at least 25x the original's `-r 10` in exposures/s, and at least 20x at 20 exposures each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.bench_upload import _served, _settle, cpu_seconds
from bench.original_script import OriginalUnavailable, prepare
from send_test_images import paths

MAIN = "from send_test_images.cli import run; run()"
"""The `send-test-images` command itself, as its console script runs it."""
SITE = "tst"
DATA_TYPE = "EX"
GOAL_BULK = 25.0
GOAL_EQUAL = 20.0


def _timed(command: list[str], cwd: Path | None = None) -> tuple[float, str]:
    """Wall seconds of one whole process and its output; a failure stops the bench."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:6])}... exited {done.returncode}: {done.stderr.strip()[-800:]}")
    return elapsed, done.stdout


def _site_cpu() -> float:
    """CPU seconds the local site (serve, weed, its meta tail) has used so far."""
    return sum(seconds for kind, seconds in cpu_seconds(os.getpid()).items() if not kind.startswith("bench"))


def _children_cpu() -> float:
    """CPU seconds of this process's finished children (a timed run and its workers)."""
    times = os.times()
    return times.children_user + times.children_system


def _original_sent(stdout: str, expected: int) -> None:
    """The original exits 0 whatever S3 said: count its 'success' lines instead."""
    sent = sum(line.rstrip().endswith("success") for line in stdout.splitlines())
    if sent != expected:
        raise RuntimeError(f"the original sent {sent} of {expected} files:\n{stdout[-800:]}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench original")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--exposures", type=int, default=200, help="up's exposures in the bulk comparison")
    parser.add_argument("--original-exposures", type=int, default=10, help="the original's, same comparison")
    parser.add_argument("--equal", type=int, default=20, help="exposures each in the equal-count comparison")
    parser.add_argument("--camera", default="sq768", help="the original draws 768x768 frames")
    parser.add_argument("--files", default="hjtfF")
    parser.add_argument("--original-source", type=Path, default=None,
                        help="a checkout or git directory of LCOGT/photonranch-helper-scripts (default: GitHub)")
    args = parser.parse_args(argv)
    try:
        original = prepare(args.original_source)
    except OriginalUnavailable as exc:
        print(f"bench original: {exc}", file=sys.stderr)
        return 2
    print("original's venv (today's releases; its 2021 pins do not install on Python 3.11): "
          + ", ".join(f"{name} {version}" for name, version in sorted(original.versions.items())))

    files_per = len(args.files)
    with tempfile.TemporaryDirectory(prefix="bench-original-") as tmp:
        home = Path(tmp)
        os.environ[paths.HOME_ENV] = str(home)
        with _served(home / "site", set(os.sched_getaffinity(0))) as api_url:
            workdir = original.copy_for(api_url, home / "original")

            cpu: dict[str, list[tuple[float, float]]] = {}

            def costed(name: str, count: int, run: Callable[[], float]) -> float:
                """Run, then record CPU seconds per exposure of the run itself and of the site."""
                own, site = _children_cpu(), _site_cpu()
                seconds = run()
                cpu.setdefault(name, []).append(((_children_cpu() - own) / count, (_site_cpu() - site) / count))
                return seconds

            def up(count: int, inst: str = "up") -> float:
                seconds, _ = _timed([sys.executable, "-c", MAIN, "up", "--api", api_url, "--site", SITE,
                                     "--inst", inst, "--camera", args.camera, "-f", args.files,
                                     "-r", str(count)])
                _settle(os.getpid())
                return seconds

            def orig(count: int) -> float:
                seconds, out = _timed(original.command(site=SITE, data_type=DATA_TYPE, files=args.files,
                                                       repeat=count), cwd=workdir)
                _original_sent(out, count * files_per)
                _settle(os.getpid())
                return seconds

            up(1, inst="seed")  # the original needs an image to number after; warms the page cache too
            orig(1)
            load_before = os.getloadavg()
            times: dict[str, list[float]] = {"up bulk": [], "original bulk": [], "up equal": [], "original equal": []}
            for _ in range(args.rounds):
                times["up bulk"].append(costed("up bulk", args.exposures, lambda: up(args.exposures)))
                times["original bulk"].append(
                    costed("original bulk", args.original_exposures, lambda: orig(args.original_exposures)))
                times["up equal"].append(costed("up equal", args.equal, lambda: up(args.equal)))
                times["original equal"].append(costed("original equal", args.equal, lambda: orig(args.equal)))
            load_after = os.getloadavg()

    counts = {"up bulk": args.exposures, "original bulk": args.original_exposures,
              "up equal": args.equal, "original equal": args.equal}
    print(f"{args.rounds} alternating rounds, camera {args.camera}, files {args.files}; load average "
          f"{load_before[0]:.2f} before, {load_after[0]:.2f} after (1 min), 2 shared cores")
    for name, values in times.items():
        rates = [counts[name] / s for s in values]
        print(f"  {name:15s} -r {counts[name]:<4d} median {statistics.median(values):6.2f} s "
              f"(range {min(values):.2f}-{max(values):.2f}), {statistics.median(rates):6.2f} exposures/s "
              f"(range {min(rates):.2f}-{max(rates):.2f}); CPU per exposure: its processes "
              f"{statistics.median(c[0] for c in cpu[name]) * 1e3:.0f} ms, the local site "
              f"{statistics.median(c[1] for c in cpu[name]) * 1e3:.0f} ms")
    status = 0
    for label, kind, goal in (("bulk", "bulk", GOAL_BULK), ("equal counts", "equal", GOAL_EQUAL)):
        ratios = [(counts[f"up {kind}"] / u) / (counts[f"original {kind}"] / o)
                  for u, o in zip(times[f"up {kind}"], times[f"original {kind}"], strict=True)]
        median = statistics.median(ratios)
        met = median >= goal
        status |= 0 if met else 1
        print(f"{label}: up -r {counts[f'up {kind}']} vs the original -r {counts[f'original {kind}']}: "
              f"{median:.1f}x the original's exposures/s (rounds {min(ratios):.1f}-{max(ratios):.1f}; "
              f"goal >= {goal:g}x): {'met' if met else 'NOT met'}")
    return status
