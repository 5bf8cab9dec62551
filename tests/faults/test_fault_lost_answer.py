"""Issue 11, item 14: an ambiguous failure is sent again, to the same key with the same bytes.

When S3 stored a file but its 204 never arrived (a cut connection; likewise SIGKILL or Ctrl-C
between the 204 and the journal's `sent` line), the sender cannot know the object is there, so
it sends the file again: delivery is at least once. The repeat always goes to the same key with
the same bytes, so it is an idempotent overwrite, never a different object under a used name.
Real weed behind the fault proxy, which forwards the POST and then loses the answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from send_test_images.localsite import LocalSite
from send_test_images.localsite.s3server import DEFAULT_BUCKET
from send_test_images.sending import journal

from fault_proxy import FaultProxy, LoseAnswer
from faultkit import bucket_keys, s3_client
from inprocess import up

pytestmark = pytest.mark.s3

FILES = "hf"
"""No jpg: the local site makes every 11.jpg from its 10.jpg (as Photon Ranch does), which would
replace the bytes a run sent under that key and hide what this test looks at."""


@pytest.fixture
def proxies(local_site: LocalSite) -> Iterator[tuple[FaultProxy, FaultProxy]]:
    with FaultProxy(local_site.api_url) as api, FaultProxy(local_site.s3_url) as s3:
        api.rewrite_presign_to(s3)
        yield api, s3


def test_a_lost_204_is_sent_again_to_the_same_key_with_the_same_bytes(
    local_site: LocalSite, proxies: tuple[FaultProxy, FaultProxy], tmp_path: Path
) -> None:
    api, s3 = proxies
    s3.fail_next(1, LoseAnswer())
    report = tmp_path / "report.json"

    ran = up(api.url, inst="flost", repeat=2, files=FILES, concurrency=1, report=report, out_dir=tmp_path / "kept")

    assert ran.code == 0, ran.err
    assert json.loads(report.read_text())["retries"] == 1
    state = journal.read(ran.run_id)
    assert state.finished
    expected = {f"data/{f.name}": f for files in state.exposures.values() for f in files}
    assert len(expected) == 2 * len(FILES)
    assert bucket_keys(local_site, "flost") == set(expected)  # 0 lost
    stored = s3.stored_upstream()
    twice = {key: digests for key, digests in stored.items() if len(digests) > 1}
    assert len(twice) == 1  # the one whose answer was lost, stored twice ...
    [digests] = twice.values()
    assert len(digests) == 2 and len(set(digests)) == 1  # ... with the same bytes: no silent overwrite
    for key, entry in expected.items():  # what is in the bucket is what the run made, byte for byte
        sent = hashlib.sha256(Path(entry.path).read_bytes()).hexdigest()
        assert set(stored[key]) == {sent}
        body = s3_client(local_site).get_object(Bucket=DEFAULT_BUCKET, Key=key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == sent
