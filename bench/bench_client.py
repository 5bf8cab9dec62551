"""The CPU `up`'s uploads cost per exposure, apart from generation, the journal and the site.

    ./dev bench client [--exposures=400] [--threads=8] [--rounds=3] [--requests=500]

A local site (`serve`) runs in a process of its own. This process makes one sq768 exposure
(`-f hjtfF`, five files, ~1.65 MB) into a spool once, then sends it `--exposures` times under
new numbers through `sending.client.Uploader` from `--threads` threads, as `up`'s upload threads
do: ten requests an exposure (five presigns, five multipart POSTs to S3). It prints this
process's CPU (user + system, every thread) per exposure, the median of `--rounds`.

Then one presign, `--requests` times from one thread, through an `httpx.Client` (how the client
sent before) and through httpx's transport with the same request (how it sends now): the CPU of
one request each way, the reason the client calls the transport directly (bench/README.md).
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bench.bench_upload import _served
from send_test_images import paths
from send_test_images.exposure.options import BatchOptions
from send_test_images.exposure.plan import plan
from send_test_images.sending import spool
from send_test_images.sending.client import USER_AGENT, Uploader
from send_test_images.sending.journal import FileEntry

SITE = "tst"
FIRST = 1


def _send_all(api_url: str, files: list[FileEntry], numbers: range, threads: int) -> float:
    """CPU seconds of this process while `threads` threads send `files` once per number."""
    jobs: queue.Queue[tuple[str, str] | None] = queue.Queue()
    for number in numbers:
        for entry in files:
            jobs.put((entry.path, entry.name.replace(f"-{FIRST:08d}-", f"-{number:08d}-")))
    for _ in range(threads):
        jobs.put(None)
    with Uploader(api_url) as uploader:

        def work() -> None:
            while (job := jobs.get()) is not None:
                uploader.send(*job)

        workers = [threading.Thread(target=work) for _ in range(threads)]
        started = time.process_time()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return time.process_time() - started


def _per_request(send: Callable[[], None], count: int) -> float:
    """CPU seconds of one call of `send`, this thread only."""
    send()  # a connection, kept alive
    started = time.thread_time()
    for _ in range(count):
        send()
    return (time.thread_time() - started) / count


def _presign_both_ways(api_url: str, count: int) -> tuple[float, float]:
    """One presign's CPU through an httpx.Client and through httpx's transport."""
    url = f"{api_url}/upload"
    body = {"object_name": f"{SITE}-inst-20261201-{FIRST:08d}-EX00.txt", "s3_directory": "data"}
    with httpx.Client(headers={"User-Agent": USER_AGENT}) as client, httpx.HTTPTransport() as transport:

        def through_client() -> None:
            client.post(url, json=body).raise_for_status()

        def through_transport() -> None:
            request = httpx.Request("POST", url, headers=client.headers, json=body,
                                    extensions={"timeout": httpx.Timeout(30.0).as_dict()})
            response = transport.handle_request(request)
            response.read()
            response.close()
            assert response.status_code == httpx.codes.OK

        return _per_request(through_client, count), _per_request(through_transport, count)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench client")
    parser.add_argument("--exposures", type=int, default=400)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-client-") as tmp:
        home = Path(tmp)
        os.environ[paths.HOME_ENV] = str(home)
        options = BatchOptions(repeat=1, camera="sq768", files="hjtfF", site=SITE)
        [spec] = plan(options, range(FIRST, FIRST + 1), seed=1)
        files = spool.spool_exposure(spec, home / "spool").files
        with _served(home / "site", set(os.sched_getaffinity(0))) as api_url:
            _send_all(api_url, files, range(FIRST + 1, FIRST + 21), args.threads)  # warm up
            per_exposure = []
            for round_ in range(args.rounds):
                first = FIRST + 100 + round_ * args.exposures
                cpu = _send_all(api_url, files, range(first, first + args.exposures), args.threads)
                per_exposure.append(cpu / args.exposures)
            both = [_presign_both_ways(api_url, args.requests) for _ in range(args.rounds)]
    size = sum(entry.bytes for entry in files)
    print(f"uploads: {len(files)} files, {size / 1e6:.2f} MB an exposure, {args.threads} threads: CPU "
          f"{statistics.median(per_exposure) * 1e3:.2f} ms an exposure (median of {args.rounds}: "
          f"{', '.join(f'{c * 1e3:.2f}' for c in per_exposure)})")
    print(f"one presign: through an httpx.Client {statistics.median(b[0] for b in both) * 1e3:.3f} ms of CPU, "
          f"through httpx's transport {statistics.median(b[1] for b in both) * 1e3:.3f} ms "
          f"(medians of {args.rounds} x {args.requests})")
    return 0
