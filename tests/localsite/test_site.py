"""A local site owns its data dir: data survives a restart, a second site is refused."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from send_test_images.errors import LocalSiteError
from send_test_images.localsite import LocalSite
from send_test_images.localsite.s3server import Ports, S3Server, weed_environment

from localsite_fixtures import WAIT_SECONDS, latest, make_header_text, make_jpg, upload, wait_for

pytestmark = pytest.mark.s3

IMAGE = "tst-inst-20261123-00000007"


def test_restart_keeps_data_and_a_second_site_is_refused(tmp_path: Path, site_database: str | None) -> None:
    header = make_header_text(DATE_OBS="2026-11-24T03:04:05", CRVAL1=15.0, CRVAL2=5.0, EXPTIME=2.0)
    with LocalSite.start(tmp_path, db=site_database) as first:
        upload(first.api_url, IMAGE + "-EX00.txt", header)
        upload(first.api_url, IMAGE + "-EX10.jpg", make_jpg())
        wait_for(lambda: (r := latest(first.api_url, "tst", IMAGE)) and r["jpg_small_exists"],
                 "the image before the restart")

        with pytest.raises(LocalSiteError) as refused:
            LocalSite.start(tmp_path, db=site_database)
        message = str(refused.value)
        assert re.search(r"already served by pid \d+ at " + re.escape(first.api_url), message)

        reused = LocalSite.connect_or_start(tmp_path)
        assert (reused.api_url, reused.owned) == (first.api_url, False)
        reused.stop()  # leaves the running site alone
        assert httpx.get(first.api_url + "/health").json()["ok"] is True

    assert LocalSite.connect(tmp_path) is None  # nothing answers for the data dir any more

    with LocalSite.start(tmp_path, db=site_database) as second:
        row = latest(second.api_url, "tst", IMAGE)
        assert row is not None
        assert row["exposure_time"] == 2.0
        assert httpx.get(row["jpg_url"]).content == make_jpg()
        assert httpx.get(row["jpg_thumbnail_url"]).status_code == 200


def test_objects_that_landed_while_no_site_ran_are_ingested_on_start(tmp_path: Path) -> None:
    with S3Server(tmp_path) as s3:  # the data dir's own S3, without watcher or API
        key = f"data/{IMAGE}-EX10.jpg"
        s3.client().put_object(Bucket=s3.bucket, Key=key, Body=make_jpg())
    with LocalSite.start(tmp_path) as site:
        row = wait_for(lambda: latest(site.api_url, "tst", IMAGE), "the reconciled image")
        assert row["jpg_medium_exists"]


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(LocalSiteError, match=f"cannot listen on 127.0.0.1:{port}"):
            LocalSite.start(tmp_path, port=port)
    assert not (tmp_path / "site.json").exists()
    assert LocalSite.connect(tmp_path) is None


def _start_serve(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    """`serve` in a child process, as the CLI runs it; returns the process and its API URL."""
    code = f"import sys; from send_test_images.localsite import serve; sys.exit(serve({str(data_dir)!r}))"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    first_line = child.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)", first_line)
    assert match, f"serve printed {first_line!r}"
    rest = [child.stdout.readline() for _ in range(3)]
    assert any(line.startswith("Observe page:") and f"{match.group(1)}/" in line for line in rest), rest
    return child, match.group(1)


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def test_serve_stops_cleanly_on_sigterm_and_is_reused_meanwhile(tmp_path: Path) -> None:
    child, api_url = _start_serve(tmp_path)
    try:
        reused = LocalSite.connect_or_start(tmp_path)
        assert (reused.api_url, reused.owned, reused.pid) == (api_url, False, child.pid)
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=WAIT_SECONDS) == 0
    finally:
        child.kill()
        child.wait()
        assert child.stdout is not None
        child.stdout.close()
    assert not (tmp_path / "site.json").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_weed_dies_with_a_killed_parent(tmp_path: Path) -> None:
    child, _ = _start_serve(tmp_path)
    children = subprocess.run(
        ["pgrep", "-P", str(child.pid)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert children  # weed and its metadata tail
    child.kill()
    child.wait()
    assert child.stdout is not None
    child.stdout.close()
    wait_for(lambda: all(_gone(int(pid)) for pid in children), "weed to die with its parent")


@pytest.mark.parametrize(("environ", "cpus", "procs"), [
    ({}, 2, "1"), ({}, 1, "1"), ({}, 8, "4"), ({"GOMAXPROCS": "3"}, 2, "3"),
])
def test_weed_gets_half_the_cores_unless_told_otherwise(environ: dict[str, str], cpus: int, procs: str) -> None:
    made = weed_environment({"PATH": "/usr/bin", **environ}, cpus)
    assert made == {"PATH": "/usr/bin", **environ, "GOMAXPROCS": procs}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_running_weed_has_that_environment(local_site: LocalSite) -> None:
    assert local_site.s3_pid is not None
    environ = Path(f"/proc/{local_site.s3_pid}/environ").read_bytes().split(b"\0")
    assert f"GOMAXPROCS={weed_environment()['GOMAXPROCS']}".encode() in environ


def test_stored_files_are_sealed_on_disk_and_read_back_after_a_restart(tmp_path: Path) -> None:
    """weed seals what it stores (s3server.py says why: it is cheaper than what weed does to an
    unsealed FITS), so no upload's bytes lie in clear in the volume files; a restarted site still
    reads them back, byte for byte, under the same ETag."""
    key = f"data/{IMAGE}-EX10.fits.fz"
    payload = b"SIMPLE  =                    T".ljust(2880) + os.urandom(200_000)
    with S3Server(tmp_path) as s3:
        presigned = s3.client().generate_presigned_post(Bucket=s3.bucket, Key=key)
        posted = httpx.post(presigned["url"], data=presigned["fields"],
                            files={"file": (key.rpartition("/")[2], payload)})
        assert posted.status_code == 204
        etag = s3.client().head_object(Bucket=s3.bucket, Key=key)["ETag"]
    volumes = b"".join(path.read_bytes() for path in (tmp_path / "s3").rglob("*.dat"))
    in_clear = payload[-4096:] in volumes
    assert volumes and not in_clear
    with S3Server(tmp_path) as s3:
        answer = s3.client().get_object(Bucket=s3.bucket, Key=key)
        assert answer["Body"].read() == payload
        assert answer["ETag"] == etag == f'"{hashlib.md5(payload).hexdigest()}"'


class _UnsealedS3Server(S3Server):
    """weed as sites before sealing ran it, to write a data dir the way they did."""

    def command(self, weed: Path, ports: Ports) -> list[str]:
        return [arg for arg in super().command(weed, ports) if arg != "-s3.encryptVolumeData"]


def test_files_stored_in_clear_by_an_older_site_still_read_back(tmp_path: Path) -> None:
    key = f"data/{IMAGE}-EX00.fits.fz"
    payload = b"SIMPLE  =                    T".ljust(2880) + os.urandom(100_000)
    with _UnsealedS3Server(tmp_path) as s3:
        s3.client().put_object(Bucket=s3.bucket, Key=key, Body=payload)
    volumes = b"".join(path.read_bytes() for path in (tmp_path / "s3").rglob("*.dat"))
    in_clear = payload[-4096:] in volumes
    assert in_clear
    with S3Server(tmp_path) as s3:
        assert s3.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read() == payload
