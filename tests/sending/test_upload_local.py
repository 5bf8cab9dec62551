"""The upload client against the real S3 server: the policy S3 enforces is the one AWS would."""

from __future__ import annotations

import pytest

from send_test_images.errors import StorageError
from send_test_images.localsite import LocalSite
from send_test_images.sending.client import PhotonRanchClient, Uploader

pytestmark = pytest.mark.s3

NAME = "upl-inst-20261124-00000001-EX00.txt"


def test_a_tampered_presigned_post_is_refused_with_s3s_code_and_message(local_site: LocalSite) -> None:
    with PhotonRanchClient(local_site.api_url) as client:
        presigned = client.presign(NAME)
        presigned["fields"]["key"] = "data/upl-inst-20261124-00000002-EX00.txt"  # re-keyed
        with pytest.raises(StorageError) as info:
            client.post_file(presigned, b"header", NAME)
    error = info.value
    assert error.status == 403
    assert error.code == "AccessDenied"
    assert "Policy Condition failed" in str(error)
    assert not error.retryable


def test_a_refused_upload_is_not_retried_and_leaves_nothing_behind(local_site: LocalSite) -> None:
    with Uploader(local_site.api_url, retries=3) as uploader:
        result = uploader.send(b"a header", NAME)
        assert (result.status, result.attempts, result.key) == (204, 1, f"data/{NAME}")
        presigned = uploader.client.presign(NAME)
        presigned["fields"]["x-amz-signature"] = "0" * 64
        with pytest.raises(StorageError, match="SignatureDoesNotMatch"):
            uploader.client.post_file(presigned, b"forged", NAME)
