"""How much load Locust workers make, and what an exposure costs a worker, on a local site.

`./dev bench load [--seconds=20] [--users=16] [--camera=sq768] [--files=hjtfF]`

1. throughput: `send-test-images load --headless --processes N` (a master and N worker
   processes on this machine), N = 1 then 2, every camera sending back to back (`--cadence 0`)
   into a fresh local site (`send-test-images serve` in its own process): exposures/s and MB/s,
   counted by the ledger (what S3 accepted) over the run time.
2. CPU per exposure on the worker side, pooled frames (the default) vs `--fresh-frames`:
   - the generation step alone, in this process: `FramePool.make` (name and stamp a pooled
     exposure) vs `make_fresh` (draw it, as `up` does), CPU time per exposure;
   - a whole Locust process (one local runner: what a worker does, sending included), at a fixed
     cadence so both modes send alike. Each mode runs twice, short and long, and the CPU of the
     difference is divided by the exposures of the difference: the imports and the pool drawn at
     start cancel out, what is left is what one more exposure costs.
   The issue's goal: pooled <= 10% of fresh.

Everything but the site's own CPUs is shared: on 2 cores the site (API, ingestion, weed) and the
workers compete, which is the point of measuring one vs two worker processes here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.bench_upload import _served, cpu_seconds
from send_test_images.exposure.profiles import get_camera
from send_test_images.exposure.synth import FrameSpec
from send_test_images.load.pool import FramePool, PoolKey, make_fresh

DEFAULT_SECONDS = 20
DEFAULT_USERS = 16
DEFAULT_CAMERA = "sq768"
DEFAULT_FILES = "hjtfF"
CPU_USERS = 4
CPU_CAMERAS = "sq768,sq4k"
CPU_CADENCE = {"sq768": 0.5, "sq1k": 1.0, "sq4k": 4.0}
"""Seconds between one camera's exposures in the CPU runs (4 cameras): slow enough for one core
even with fresh frames, so both modes send the same exposures."""
CPU_SECONDS = (8, 32)
GENERATION_EXPOSURES = 30
GOAL_POOLED_SHARE = 0.10
SEED = 20261130
MB = 1e6


@dataclass(frozen=True)
class Run:
    exposures: int
    files_failed: int
    bytes: int
    cpu: float
    seconds: float


def run_locust(api: str, workdir: Path, name: str, *, seconds: int, users: int, cadence: float, camera: str,
               files: str, processes: int = 0, fresh: bool = False) -> Run:
    """One headless Locust run through `send-test-images load`; CPU of all its processes."""
    ledger = workdir / f"{name}.json"
    args = [sys.executable, "-c", "import sys; from send_test_images.cli import main; sys.exit(main())", "load",
            "--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", api,
            "--camera", camera, "--files", files, "--cadence", str(cadence), "--seed", str(SEED),
            "--csv", str(workdir / name), "--html", str(workdir / f"{name}.html"), "--ledger", str(ledger),
            "--only-summary"]
    if processes:
        args += ["--processes", str(processes)]
    if fresh:
        args.append("--fresh-frames")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with (workdir / f"{name}.log").open("w") as log:
        subprocess.run(args, stdout=log, stderr=subprocess.STDOUT, check=True, timeout=seconds + 300)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    counted = json.loads(ledger.read_text())
    return Run(counted["exposures_complete"], counted["files_failed"] + counted["files_stopped"],
               counted["bytes_sent"], cpu, float(seconds))


def generation_cpu(camera: str, files: str) -> tuple[float, float]:
    """CPU seconds per exposure to make one exposure's files: pooled (stamped) and fresh."""
    key = PoolKey(get_camera(camera), FrameSpec(), files, "fz", "E", 4, SEED)
    pool = FramePool.build(key)
    when = dt.datetime.now(dt.UTC)
    make_fresh(key, "abc00", "c0", 0, when, SEED)  # the camera's fixed pattern is built once per process
    started = time.process_time()
    for number in range(GENERATION_EXPOSURES):
        pool.make("abc00", "c0", number, when, number)
    pooled = (time.process_time() - started) / GENERATION_EXPOSURES
    started = time.process_time()
    for number in range(GENERATION_EXPOSURES):
        make_fresh(key, "abc00", "c0", number, when, SEED + number)
    fresh = (time.process_time() - started) / GENERATION_EXPOSURES
    return pooled, fresh


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench load")
    parser.add_argument("--seconds", type=int, default=DEFAULT_SECONDS)
    parser.add_argument("--users", type=int, default=DEFAULT_USERS)
    parser.add_argument("--camera", default=DEFAULT_CAMERA)
    parser.add_argument("--files", default=DEFAULT_FILES)
    parser.add_argument("--cpu-cameras", default=CPU_CAMERAS, help="cameras of the CPU comparison, comma-separated")
    args = parser.parse_args(argv)

    pooled, fresh = generation_cpu(args.camera, args.files)
    print(f"generation alone, {args.camera} -f {args.files}: pooled {pooled * 1000:.2f} ms, "
          f"fresh {fresh * 1000:.1f} ms CPU per exposure -> pooled is {pooled / fresh:.1%} of fresh "
          f"(goal <= {GOAL_POOLED_SHARE:.0%})", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        workdir = Path(tmp)
        with _served(workdir / "site", cpus=set(range(_cpu_count()))) as api:
            print(f"local site at {api}; Locust: {args.users} cameras back to back, {args.seconds} s per run",
                  flush=True)
            for processes in (1, 2):
                site_before = _site_cpu()
                run = run_locust(api, workdir, f"throughput{processes}", seconds=args.seconds, users=args.users,
                                 cadence=0, camera=args.camera, files=args.files, processes=processes)
                site = _site_cpu() - site_before
                print(f"  {processes} worker process(es): {run.exposures / run.seconds:.1f} exposures/s, "
                      f"{run.bytes / MB / run.seconds:.1f} MB/s, {run.files_failed} files not sent; CPU: Locust "
                      f"(master, workers, start-up included) {run.cpu / run.seconds:.2f} cores, the site (API, "
                      f"ingestion, weed) {site / run.seconds:.2f} cores", flush=True)
            for camera in args.cpu_cameras.split(","):
                per_exposure = {}
                for fresh_frames in (False, True):
                    short, long = (run_locust(api, workdir, f"cpu-{camera}-{int(fresh_frames)}-{s}", seconds=s,
                                              users=CPU_USERS, cadence=CPU_CADENCE.get(camera, 4.0), camera=camera,
                                              files=args.files, fresh=fresh_frames) for s in CPU_SECONDS)
                    extra = long.exposures - short.exposures
                    per_exposure[fresh_frames] = (long.cpu - short.cpu) / extra
                    print(f"  one Locust process, {camera}, {'fresh' if fresh_frames else 'pooled'} frames: "
                          f"{per_exposure[fresh_frames] * 1000:.1f} ms CPU per exposure, sending included "
                          f"({extra} exposures between a {CPU_SECONDS[0]} s and a {CPU_SECONDS[1]} s run)",
                          flush=True)
                share = per_exposure[False] / per_exposure[True]
                print(f"whole worker, {camera}: pooled is {share:.1%} of fresh (goal <= {GOAL_POOLED_SHARE:.0%})",
                      flush=True)
    return 0


def _site_cpu() -> float:
    """CPU seconds the local site's processes (its Python process, weed) have used so far."""
    return sum(used for kind, used in cpu_seconds(os.getpid()).items()
               if kind.startswith(("local site", "weed")))


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
