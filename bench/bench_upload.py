"""How fast `up` sends, against its ceilings and the original script, on a local site.

`./dev bench upload [--exposures=200] [--camera=sq768] [--rss] [--shared]`

(`up` against the original script itself: `./dev bench original`.)

1. end to end: `up -r 200` with the default product set (hjtfF), default concurrency and
   generator processes, through journal and spool: exposures/s and MB/s.
2. ceilings: generation alone (the same specs, same processes, files written to disk) and the
   simplest presign+POST loop sending those same files at the same concurrency. The issue's
   goal: end to end within 25% of the slower ceiling (ratio >= 0.75).
3. with --rss: peak RSS of the whole `up` process tree at -r 20 and -r 2000 (goal: within 10%).

Everything runs against a fresh local site (`send-test-images serve`, in its own process so the
site's API and ingestion do not share this process's GIL) in a temporary folder. By default the
CPUs are split in two: the local site (its API, ingestion and weed) runs on one half and `up`
(generation and the upload client) on the other, the nearest one machine comes to an observatory
computer sending to Photon Ranch; `--shared` lets both use every CPU. Each phase prints its CPU
cost per exposure by process, and the rate those costs allow on the CPUs each side has. A warm-up of a
few files comes first (weed makes its volumes on the first writes). Timings include starting the
generator processes, as a user's run does.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from send_test_images import defaults, paths
from send_test_images.exposure.options import BatchOptions
from send_test_images.exposure.plan import plan
from send_test_images.sending import run
from send_test_images.sending.options import Destination, RunRequest, SendOptions
from send_test_images.sending.pipeline import _make_pool
from send_test_images.sending.spool import spool_exposure

DEFAULT_EXPOSURES = 200
DEFAULT_CAMERA = "sq768"
DEFAULT_FILES = "hjtfF"
RSS_COUNTS = (20, 2000)
RSS_POLL = 0.1
GOAL_RATIO = 0.75
GOAL_RSS_SPREAD = 0.10
SEED = 20261124
MB = 1e6
TIMEOUT = 30.0
WARM_UP_FILES = 50
SERVE_START_TIMEOUT = 60.0
API_LINE = "Local Photon Ranch API: "


def generation_ceiling(specs: list, directory: Path, workers: int) -> float:
    """Seconds to make every exposure and write its files, with the pipeline's processes."""
    started = time.perf_counter()
    pool = _make_pool(workers)
    try:
        list(pool.map(spool_exposure, specs, [directory] * len(specs)))
    finally:
        pool.shutdown()
    return time.perf_counter() - started


def upload_ceiling(api_url: str, files: list[Path], concurrency: int) -> float:
    """Seconds for the plainest presign + POST of these files, `concurrency` at a time."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(timeout=TIMEOUT, limits=limits) as client:

        def send(path: Path) -> None:
            answer = client.post(f"{api_url}/upload", json={"object_name": path.name, "s3_directory": "data"})
            presigned = answer.raise_for_status().json()
            with path.open("rb") as body:
                posted = client.post(presigned["url"], data=presigned["fields"], files={"file": (path.name, body)})
            if posted.status_code != httpx.codes.NO_CONTENT:
                raise RuntimeError(f"{path.name}: {posted.status_code} {posted.text[:200]}")

        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(send, files))
        return time.perf_counter() - started


def end_to_end(api_url: str, args: argparse.Namespace, report: Path) -> dict:
    options = BatchOptions(site="tst", inst="e2e", files=args.files, repeat=args.exposures, camera=args.camera,
                           seed=SEED)
    request = RunRequest(
        batch=options, destination=Destination(target=api_url),
        sending=SendOptions(concurrency=args.concurrency, workers=args.workers, report=report),
    )
    result = run.send_new(request)  # no observer: the library prints nothing
    if result.owes:
        raise RuntimeError(f"up failed ({result.exit_code}): {result.summary}")
    return json.loads(report.read_text())


def _family(root: int) -> dict[int, list[str]]:
    """`root` and all its descendants (Linux /proc): pid -> the fields of /proc/pid/stat after the name."""
    stats: dict[int, list[str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            stats[int(stat.parent.name)] = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
    family, grew = {root}, True
    while grew:
        more = {pid for pid, fields in stats.items() if int(fields[1]) in family} - family
        family |= more
        grew = bool(more)
    return {pid: stats[pid] for pid in family if pid in stats}


def cpu_seconds(root: int) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each kind of process in `root`'s tree.

    Kinds are named by what the process runs, so a phase's cost can be split between our own
    code, weed and the local site: that split is what says where the next millisecond is.
    """
    tick = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for pid, fields in _family(root).items():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        kind = _kind(pid, root, [a.decode(errors="replace") for a in argv])
        # Fields 11-14: utime, stime, and the same for reaped children (generator processes that
        # have exited count in the forkserver's). The bench's own children are counted live.
        used = sum(int(f) for f in fields[11:13 if pid == root else 15]) / tick
        totals[kind] = totals.get(kind, 0.0) + used
    return totals


def _kind(pid: int, root: int, argv: list[str]) -> str:
    joined = " ".join(argv)
    if pid == root:
        return "bench (up's uploads, journal, pipeline)"
    if "filer.meta.tail" in joined:
        return "weed filer.meta.tail"
    if argv and argv[0].endswith("weed"):
        return "weed"
    if " serve " in f" {joined} ":
        return "local site (API, ingestion)"
    if "forkserver" in joined or "multiprocessing" in joined:
        return "generator processes"
    return "other"


def cpu_per_exposure(before: dict[str, float], after: dict[str, float], exposures: int) -> dict[str, float]:
    """CPU milliseconds per exposure by process kind over an interval, largest first."""
    used = {kind: (after[kind] - before.get(kind, 0.0)) / exposures * 1000 for kind in after}
    return dict(sorted(((k, v) for k, v in used.items() if v >= 0.05), key=lambda item: -item[1]))


def cpu_lines(used: dict[str, float]) -> str:
    lines = [f"    {sum(used.values()):6.1f} ms  in all"]
    lines += [f"    {ms:6.1f} ms  {kind}" for kind, ms in used.items()]
    return "\n".join(lines)


SITE_KINDS = ("weed", "weed filer.meta.tail", "local site (API, ingestion)")


def cpu_bound(used: dict[str, float], client_cpus: set[int], site_cpus: set[int]) -> float:
    """Exposures/s the CPUs allow at this CPU cost per exposure: each side's CPUs over its cost,
    or, when the two sides share their CPUs, all of them over the total."""
    site = sum(ms for kind, ms in used.items() if kind in SITE_KINDS) / 1000
    client = sum(ms for kind, ms in used.items() if kind not in SITE_KINDS) / 1000
    if client_cpus == site_cpus:
        return len(client_cpus) / (site + client)
    return min(len(client_cpus) / client, len(site_cpus) / site)


def tree_rss(root: int) -> int:
    """Bytes resident in `root` and all its descendants right now (Linux /proc)."""
    total = 0
    family = _family(root)
    for pid in family:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def peak_rss(api_url: str, exposures: int, args: argparse.Namespace) -> tuple[int, float]:
    """Peak RSS of a separate `up` process tree, and its seconds."""
    command = [
        sys.executable, "-c", "from send_test_images.cli import run; run()",
        "up", "--api", api_url, "--inst", f"rss{exposures}", "--camera", args.camera, "-f", args.files,
        "-r", str(exposures), "--seed", str(SEED), "--concurrency", str(args.concurrency),
        "--workers", str(args.workers),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(RSS_POLL):
            peak = max(peak, tree_rss(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = process.communicate()
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"up -r {exposures} failed ({process.returncode}): {err[-500:]}")
    return peak, time.perf_counter() - started


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench upload")
    parser.add_argument("--exposures", type=int, default=DEFAULT_EXPOSURES)
    parser.add_argument("--camera", default=DEFAULT_CAMERA)
    parser.add_argument("--files", default=DEFAULT_FILES)
    parser.add_argument("--concurrency", type=int, default=defaults.CONCURRENCY)
    parser.add_argument("--workers", type=int, default=defaults.WORKERS)
    parser.add_argument("--rss", action="store_true", help="also measure peak RSS at -r 20 and -r 2000")
    parser.add_argument("--shared", action="store_true",
                        help="let the local site share every CPU with up (default: split the CPUs between them)")
    args = parser.parse_args(argv)
    client_cpus, site_cpus = split_cpus(sorted(os.sched_getaffinity(0)), shared=args.shared)
    os.sched_setaffinity(0, client_cpus)

    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        home = Path(tmp)
        os.environ[paths.HOME_ENV] = str(home)
        print(f"camera {args.camera}, files {args.files}, {args.exposures} exposures, "
              f"concurrency {args.concurrency}, {args.workers} generator process(es); "
              f"CPUs {_cpu_list(client_cpus)} for up, {_cpu_list(site_cpus)} for the local site")
        with _served(home / "site", site_cpus) as api_url:
            specs = plan(BatchOptions(site="tst", inst="ceil", files=args.files, repeat=args.exposures,
                                      camera=args.camera), range(1, args.exposures + 1), seed=SEED)
            made = home / "made"
            me, cpu = os.getpid(), {}
            with _cpu_used(me, cpu, "generation", n := args.exposures):
                gen_s = generation_ceiling(specs, made, args.workers)
            files = sorted(made.iterdir())
            size = sum(p.stat().st_size for p in files)
            upload_ceiling(api_url, files[:WARM_UP_FILES], args.concurrency)
            with _cpu_used(me, cpu, "upload loop", n):
                up_s = upload_ceiling(api_url, files, args.concurrency)
            with _cpu_used(me, cpu, "end to end", n):
                e2e = end_to_end(api_url, args, home / "report.json")

            gen_rate, up_rate, e2e_rate = n / gen_s, n / up_s, e2e["exposures_per_s"]
            slower = min(gen_rate, up_rate)
            print(f"end to end:           {e2e_rate:7.2f} exposures/s  {e2e['mb_per_s']:7.1f} MB/s  "
                  f"({e2e['files_sent']} files, {e2e['bytes_sent'] / MB:.0f} MB in {e2e['elapsed_s']:.1f} s)")
            print(f"  latency p50/p90/p99: API {_pct(e2e['latency_s']['api'])}; S3 {_pct(e2e['latency_s']['s3'])}")
            print(f"ceiling, generation:  {gen_rate:7.2f} exposures/s  ({gen_s:.1f} s)")
            print(f"ceiling, upload loop: {up_rate:7.2f} exposures/s  {size / MB / up_s:7.1f} MB/s  ({up_s:.1f} s)")
            ratio = e2e_rate / slower
            print(f"end to end / slower ceiling: {ratio:.2f}  (goal >= {GOAL_RATIO})")
            # When both stages need the same CPUs (few cores, a local site on the same machine),
            # they cannot each run at their own ceiling at once: this is the bound for that case.
            # Generation and uploading are both CPU work here: what end to end can reach is what
            # its CPU cost per exposure allows on the CPUs each side has.
            bound = cpu_bound(cpu["end to end"][0], client_cpus, site_cpus)
            print(f"what the CPUs allow at end to end's CPU cost per exposure: {bound:.2f} exposures/s; "
                  f"end to end / that: {e2e_rate / bound:.2f}")

            print("CPU per exposure, by process (user + system, from /proc):")
            for phase, (used, busy) in cpu.items():
                print(f"  {phase}" + (f" (CPUs {busy:.0%} busy):" if busy is not None else ":"))
                print(cpu_lines(used))

            if args.rss:
                peaks = {}
                for count in RSS_COUNTS:
                    peaks[count], seconds = peak_rss(api_url, count, args)
                    print(f"peak RSS of the up process tree, -r {count}: {peaks[count] / MB:.0f} MB ({seconds:.0f} s)")
                low, high = min(peaks.values()), max(peaks.values())
                print(f"RSS spread: {(high - low) / low:.1%} (goal <= {GOAL_RSS_SPREAD:.0%})")
    return 0


@contextlib.contextmanager
def _cpu_used(root: int, into: dict, phase: str, exposures: int) -> Iterator[None]:
    """Record CPU per exposure by process kind, and how busy the machine was, over the block."""
    before, idle_before, started = cpu_seconds(root), _idle_seconds(), time.perf_counter()
    yield
    after, idle_after, wall = cpu_seconds(root), _idle_seconds(), time.perf_counter() - started
    busy = 1 - (idle_after - idle_before) / (wall * (os.cpu_count() or 1))
    into[phase] = (cpu_per_exposure(before, after, exposures), busy)
    # The site ingests what landed behind the uploads; let it finish, so the next phase does not
    # pay for this one, and say what finishing cost.
    settle_s = _settle(root)
    into[f"  after {phase}, until the site is idle ({settle_s:.1f} s)"] = (
        cpu_per_exposure(after, cpu_seconds(root), exposures), None)


def _settle(root: int, quiet: float = 0.05, interval: float = 0.5, limit: float = 120.0) -> float:
    """Wait until the process tree uses under `quiet` of a CPU; seconds waited."""
    started = time.perf_counter()
    last = sum(cpu_seconds(root).values())
    while time.perf_counter() - started < limit:
        time.sleep(interval)
        now = sum(cpu_seconds(root).values())
        if now - last < quiet * interval:
            break
        last = now
    return time.perf_counter() - started


def _idle_seconds() -> float:
    """Idle CPU seconds of the whole machine so far, all CPUs together (/proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return (int(fields[4]) + int(fields[5])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def _served(data: Path, cpus: set[int]) -> Iterator[str]:
    """`send-test-images serve` on `cpus` in a child process; yields its API URL, stops it after."""
    command = [sys.executable, "-c", "from send_test_images.cli import run; run()",
               "serve", "--data", str(data)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               preexec_fn=lambda: os.sched_setaffinity(0, cpus))
    try:
        deadline = time.monotonic() + SERVE_START_TIMEOUT
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(API_LINE):
                yield line.removeprefix(API_LINE).strip()
                return
            if time.monotonic() > deadline:
                break
        raise RuntimeError("the local site did not start")
    finally:
        process.terminate()
        process.wait()


def split_cpus(cpus: list[int], *, shared: bool) -> tuple[set[int], set[int]]:
    """CPUs for up (and the bench) and for the local site (API, ingestion, weed).

    A site and Photon Ranch never share a machine; on one machine, giving the local site CPUs of
    its own is the nearest stand-in, so that what the site costs does not come out of generation.
    With one CPU, or when asked, both get every CPU.
    """
    if shared or len(cpus) < 2:
        return set(cpus), set(cpus)
    half = len(cpus) // 2
    return set(cpus[:half]), set(cpus[half:])


def _cpu_list(cpus: set[int]) -> str:
    return ",".join(str(c) for c in sorted(cpus))


def _pct(values: dict) -> str:
    return "/".join(f"{v * 1000:.0f}" for v in values.values()) + " ms"

