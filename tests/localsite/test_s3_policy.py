"""weed enforces every presigned POST the local API hands out, as S3 would.

The policy pins the bucket and the exact key, expires after the real 300 s, and (unlike the real
service) caps the size with content-length-range. Each test bends one thing a client could bend
and shows the upload is refused, and that nothing was stored.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from send_test_images.localsite import LocalSite
from send_test_images.localsite.web.context import DEFAULT_MAX_UPLOAD_BYTES, PRESIGN_EXPIRES_S

from localsite_fixtures import post_file, presign

pytestmark = pytest.mark.s3

BUCKET = "photonranch-001"
SMALL_LIMIT = 1024
"""A limit small enough to exceed in a test; the API's own limit is DEFAULT_MAX_UPLOAD_BYTES."""


def name(number: int) -> str:
    return f"pol-inst-20261123-{number:08d}-EX00.txt"


def site_s3(site: LocalSite) -> Any:
    """boto3 with the site's own keys, to sign policies the API would not hand out."""
    keys = json.loads((site.data_dir / "s3.json").read_text())["identities"][0]["credentials"][0]
    return boto3.client(
        "s3",
        endpoint_url=site.s3_url,
        aws_access_key_id=keys["accessKey"],
        aws_secret_access_key=keys["secretKey"],
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def policy_of(presigned: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(presigned["fields"]["policy"]))


def stored(site: LocalSite, key: str) -> bool:
    try:
        site_s3(site).head_object(Bucket=BUCKET, Key=key)
    except ClientError:
        return False
    return True


def test_the_api_policy_keeps_the_real_expiry_and_adds_a_size_limit(local_site: LocalSite) -> None:
    presigned = presign(local_site.api_url, {"object_name": name(1)}).json()
    policy = policy_of(presigned)
    assert ["content-length-range", 0, DEFAULT_MAX_UPLOAD_BYTES] in policy["conditions"]
    assert {"key": f"data/{name(1)}"} in policy["conditions"]
    assert {"bucket": BUCKET} in policy["conditions"]
    expires = dt.datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    lifetime = (expires - dt.datetime.now(dt.UTC)).total_seconds()
    assert PRESIGN_EXPIRES_S - 10 < lifetime <= PRESIGN_EXPIRES_S
    assert post_file(presigned, b"SIMPLE  =                    T", name(1)).status_code == 204


def test_an_expired_policy_is_refused(local_site: LocalSite) -> None:
    key = f"data/{name(2)}"
    presigned = site_s3(local_site).generate_presigned_post(BUCKET, key, ExpiresIn=-60)
    refused = post_file(presigned, b"late", name(2))
    assert refused.status_code == 403
    assert "expired" in refused.text.lower()
    assert not stored(local_site, key)


def test_an_oversized_file_is_refused(local_site: LocalSite) -> None:
    key = f"data/{name(3)}"
    presigned = site_s3(local_site).generate_presigned_post(
        BUCKET, key, Conditions=[["content-length-range", 0, SMALL_LIMIT]], ExpiresIn=PRESIGN_EXPIRES_S
    )
    refused = post_file(presigned, b"x" * (SMALL_LIMIT + 1), name(3))
    assert refused.status_code == 400
    assert "<Code>EntityTooLarge</Code>" in refused.text
    assert not stored(local_site, key)
    assert post_file(presigned, b"x" * SMALL_LIMIT, name(3)).status_code == 204  # the limit itself is fine


def test_a_rekeyed_post_is_refused(local_site: LocalSite) -> None:
    presigned = presign(local_site.api_url, {"object_name": name(4)}).json()
    presigned["fields"]["key"] = f"data/{name(5)}"
    refused = post_file(presigned, b"elsewhere", name(5))
    assert refused.status_code == 403
    assert "<Code>AccessDenied</Code>" in refused.text
    assert not stored(local_site, f"data/{name(5)}")


@pytest.mark.parametrize("outside", ["test/../data/evil.txt", "../evil.txt", "allsky/evil.txt"])
def test_a_key_outside_the_granted_one_is_refused(local_site: LocalSite, outside: str) -> None:
    presigned = presign(local_site.api_url, {"object_name": name(6)}).json()
    presigned["fields"]["key"] = outside
    refused = post_file(presigned, b"escape", "evil.txt")
    assert refused.status_code in (400, 403)


def test_a_tampered_policy_is_refused(local_site: LocalSite) -> None:
    """Raising the size limit in the policy without the secret breaks the signature."""
    presigned = presign(local_site.api_url, {"object_name": name(7)}).json()
    policy = policy_of(presigned)
    policy["conditions"] = [c for c in policy["conditions"] if not isinstance(c, list)]
    presigned["fields"]["policy"] = base64.b64encode(json.dumps(policy).encode()).decode()
    refused = post_file(presigned, b"tampered", name(7))
    assert refused.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in refused.text
    assert not stored(local_site, f"data/{name(7)}")


def test_a_forged_signature_is_refused(local_site: LocalSite) -> None:
    presigned = presign(local_site.api_url, {"object_name": name(8)}).json()
    presigned["fields"]["x-amz-signature"] = "0" * 64
    refused = post_file(presigned, b"forged", name(8))
    assert refused.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in refused.text
