"""Two machines (two state folders) sending for one camera through one site at the same moment.

Each used to start after the highest number the site listed, so both started at the same number
and half the files overwrote the other half. Through the local site, numbers are now reserved by
the site itself; this runs the two senders truly at once and counts what the bucket holds.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from send_test_images.localsite import LocalSite

from faultkit import bucket_keys

pytestmark = [pytest.mark.s3, pytest.mark.slow]

EXPOSURES = 30
FILES = "hj"
STARTED = re.compile(r"numbers from (\d+)")
CLI = [sys.executable, "-c", "import sys; from send_test_images.cli import main; sys.exit(main())"]


def test_two_state_folders_sending_at_once_never_share_a_number(tmp_path: Path) -> None:
    inst = "m" + secrets.token_hex(2)
    with LocalSite.start(tmp_path / "site") as site:
        senders = []
        for machine in ("a", "b"):
            env = {**os.environ, "SEND_TEST_IMAGES_HOME": str(tmp_path / machine)}
            senders.append(subprocess.Popen(
                [*CLI, "up", "--api", site.api_url, "--inst", inst,
                 "--camera", "sq768", "-f", FILES, "-r", str(EXPOSURES), "--workers", "1", "--seed", "7"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            ))
        outputs = [sender.communicate(timeout=300) for sender in senders]
        for sender, (_, err) in zip(senders, outputs, strict=True):
            assert sender.returncode == 0, err
        starts = sorted(int(STARTED.search(out).group(1)) for out, _ in outputs)  # type: ignore[union-attr]
        assert starts[1] - starts[0] >= EXPOSURES, f"the two runs' numbers overlap: {starts}"
        sent = {key for key in bucket_keys(site, inst) if key.endswith(("00.txt", "10.jpg"))}  # not the site's 11.jpg
    assert len(sent) == 2 * EXPOSURES * len(FILES), "files were overwritten: fewer keys than files sent"
