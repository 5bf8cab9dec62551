"""When weed dies under a running site, /health says so and `serve` stops saying why.

Issue 11: with weed killed under `serve`, /health still said ok, so a later `up` reused a site
whose every upload failed. Each test starts its own site and kills its weed by its pid.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from send_test_images.localsite import LocalSite

from localsite_fixtures import WAIT_SECONDS, wait_for

pytestmark = pytest.mark.s3


def test_health_answers_503_with_the_reason_once_weed_is_gone(tmp_path: Path) -> None:
    with LocalSite.start(tmp_path) as site:
        assert httpx.get(site.api_url + "/health").json()["ok"] is True
        weed = site.s3_pid
        assert weed is not None
        os.kill(weed, signal.SIGKILL)
        answer = wait_for(lambda: (a := httpx.get(site.api_url + "/health")).status_code == 503 and a,
                          "/health to notice")
        assert answer.headers["content-type"].startswith("text/plain")
        assert answer.text.count("\n") == 0
        assert f"weed, pid {weed}" in answer.text
        assert LocalSite.connect(tmp_path) is None  # nobody reuses a site without S3


def test_serve_says_weed_died_and_stops(tmp_path: Path) -> None:
    code = f"import sys; from send_test_images.localsite import serve; sys.exit(serve({str(tmp_path)!r}))"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout is not None
        child.stdout.readline()  # the API URL: site.json now names weed's pid
        weed = json.loads((tmp_path / "site.json").read_text())["s3_pid"]
        os.kill(weed, signal.SIGKILL)
        _, err = child.communicate(timeout=WAIT_SECONDS)
        assert child.returncode == 1
        assert f"the S3 server (weed, pid {weed}) was killed by signal 9" in err
        assert "Run serve again" in err and str(tmp_path) in err
    finally:
        child.kill()
        child.communicate()
    assert not (tmp_path / "site.json").exists()
