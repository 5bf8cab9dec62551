"""Locust for real: a master and two worker processes load a real local site for ~20 s.

What must hold (issue 15): no failures; the site ingested exactly the exposures and files Locust
counted; every name distinct; the ledger accounts for every reserved file; the HTML report is
written. Counts only, never timings: the machine is shared.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from send_test_images.load import LOCUSTFILE
from send_test_images.load.names import new_run_tag
from send_test_images.localsite import LocalSite

from localsite_fixtures import wait_for

USERS = 6
RUN_SECONDS = 20
CADENCE = 0.5
"""Seconds between one camera's exposures: at most 41 each, so a site (one worker's three
cameras) stays under the 1,000 rows latest_images and recentuploads answer with."""
FILES = "hjtf"
KINDS = ("00.txt", "10.jpg", "11.jpg", "10.fits.fz")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def locust(*args: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), *args]


def stats(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    with path.open(newline="") as f:
        return {(row["Type"], row["Name"]): row for row in csv.DictReader(f)}


@pytest.mark.s3
@pytest.mark.slow
def test_a_master_and_two_workers_send_exactly_what_the_site_ingests(local_site: LocalSite,
                                                                    tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    port, tag = free_port(), new_run_tag()
    logs = [(tmp_path / f"worker{i}.log").open("w") for i in range(2)]
    workers = [subprocess.Popen(locust("--worker", "--master-host", "127.0.0.1", "--master-port", str(port)),
                                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path) for log in logs]
    try:
        master = subprocess.run(
            locust("--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
                   "--expect-workers", "2", "--expect-workers-max-wait", "120", "--headless",
                   "-u", str(USERS), "-r", str(USERS), "-t", f"{RUN_SECONDS}s", "--host", local_site.api_url,
                   "--camera", "sq768", "--files", FILES, "--cadence", str(CADENCE), "--run-tag", tag,
                   "--pool-size", "3", "--csv", str(tmp_path / "load"), "--html", str(tmp_path / "report.html"),
                   "--ledger", str(tmp_path / "ledger.json"), "--only-summary"),
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=RUN_SECONDS + 240, check=False,
        )
        for worker in workers:
            worker.wait(timeout=60)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        for log in logs:
            log.close()
    worker_logs = "".join((tmp_path / f"worker{i}.log").read_text() for i in range(2))
    assert master.returncode == 0, master.stderr[-4000:] + worker_logs[-4000:]
    assert [w.returncode for w in workers] == [0, 0], worker_logs[-4000:]

    rows = stats(tmp_path / "load_stats.csv")
    assert int(rows[("", "Aggregated")]["Failure Count"]) == 0
    exposures = int(rows[("exposure", "sq768")]["Request Count"])
    assert exposures >= USERS  # every camera sent at least once
    for kind in KINDS:
        assert int(rows[("s3 post", kind)]["Request Count"]) == exposures, kind
        assert int(rows[("presign", kind)]["Request Count"]) == exposures, kind
    assert "ledger: " in master.stderr and "0 unaccounted" in master.stderr
    ledger = json.loads((tmp_path / "ledger.json").read_text())
    assert ledger["run_tag"] == tag
    assert (ledger["exposures_reserved"], ledger["exposures_complete"]) == (exposures, exposures)
    assert ledger["files_sent"] == ledger["files_reserved"] == exposures * len(KINDS)
    locust_bytes = sum(float(rows[("s3 post", k)]["Average Content Size"]) * exposures for k in KINDS)
    assert ledger["bytes_sent"] == round(locust_bytes)
    report = (tmp_path / "report.html").read_text()
    assert "s3 post" in report and "presign" in report

    sites = [f"{tag}00", f"{tag}01"]  # one per worker, named by the index the master gave it

    def ingested() -> tuple[list[str], list[str]] | None:
        images = [row["base_filename"] for site in sites
                  for row in httpx.get(f"{local_site.api_url}/{site}/latest_images/1000").json()]
        files = [row["filename"] for site in sites
                 for row in httpx.get(f"{local_site.api_url}/recentuploads", params={"site": site}).json()]
        return (images, files) if len(images) >= exposures and len(files) >= exposures * len(KINDS) else None

    images, files = wait_for(ingested, "the site to ingest every exposure Locust counted")
    assert len(images) == len(set(images)) == exposures
    assert len(files) == len(set(files)) == exposures * len(KINDS)
    assert {name.split("-")[1] for name in images} == {"c0", "c1", "c2"}
    assert all(name.startswith(tuple(f"data/{site}-" for site in sites)) for name in files)
