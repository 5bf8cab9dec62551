"""Only the S3 port takes writes: weed's filer and volume ports refuse anonymous uploads.

Issue 11: anonymous POSTs to the filer, master and volume ports stored files past the upload
policy, the name rules and the size cap (`data/..evil..name with spaces.txt` then showed in
`recentuploads`). The site now starts weed with JWT signing keys (`security.toml`), which the S3
gateway holds and nobody else does.
"""

from __future__ import annotations

import stat
import time

import httpx
import pytest

from send_test_images.localsite import LocalSite
from send_test_images.localsite.s3server import DEFAULT_BUCKET, SECURITY_CONFIG

from localsite_fixtures import make_jpg, recent_keys, upload, wait_for

pytestmark = pytest.mark.s3

EVIL = "data/..evil..name with spaces.txt"
SETTLE_SECONDS = 1.0
"""Long enough for ingestion to have recorded a stored object (it takes milliseconds)."""


def test_filer_and_volume_ports_refuse_anonymous_writes(local_site: LocalSite) -> None:
    ports = local_site.s3_ports
    assert ports is not None
    host = "http://127.0.0.1"
    filer = httpx.post(f"{host}:{ports.filer}/buckets/{DEFAULT_BUCKET}/{EVIL}",
                       files={"file": ("x.txt", b"not through the policy")})
    assert filer.status_code in (401, 403), filer.text
    assert httpx.delete(f"{host}:{ports.filer}/buckets/{DEFAULT_BUCKET}/data/").status_code in (401, 403)

    assign = wait_for(lambda: (a := httpx.get(f"{host}:{ports.master}/dir/assign").json()).get("url") and a,
                      "a fid from /dir/assign")  # the first may answer 'no writable volumes' yet
    volume = httpx.post(f"http://{assign['url']}/{assign['fid']}", files={"file": ("x.txt", b"raw")})
    assert volume.status_code in (401, 403), volume.text

    # the residual, as documented in s3server: master /submit stores a raw blob outside the bucket
    httpx.post(f"{host}:{ports.master}/submit", files={"file": ("y.txt", b"raw blob")})

    name = "tst-inst-20261130-00000042-EX10.jpg"
    assert upload(local_site.api_url, name, make_jpg()).status_code == 204  # presigned POST still works
    wait_for(lambda: f"data/{name}" in recent_keys(local_site.api_url), "the presigned upload")
    time.sleep(SETTLE_SECONDS)
    stored = recent_keys(local_site.api_url)
    assert EVIL not in stored
    assert not any("evil" in key or "y.txt" in key or "x.txt" in key for key in stored)
    listing = httpx.get(f"{host}:{ports.filer}/buckets/{DEFAULT_BUCKET}/data/?limit=10000",
                        headers={"Accept": "application/json"}).json()
    names = {entry["FullPath"].rsplit("/", 1)[-1] for entry in listing.get("Entries") or []}
    assert "..evil..name with spaces.txt" not in names
    assert name in names


def test_the_signing_keys_are_private_and_kept(local_site: LocalSite) -> None:
    path = local_site.data_dir / SECURITY_CONFIG
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "[jwt.signing]" in text and "[jwt.filer_signing]" in text
