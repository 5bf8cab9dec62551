"""The site's own Signature V4 headers are botocore's, byte for byte, and weed accepts them
(`test_s3direct.py` sends them to a real weed)."""

from __future__ import annotations

import datetime as dt

import boto3
import botocore.auth
import botocore.signers
import pytest
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from send_test_images.localsite.sigv4 import SigV4Signer, host_header

ACCESS_KEY = "LOCALTESTKEY0000"
SECRET_KEY = "0123456789abcdef0123456789abcdef01234567"
REGION = "us-east-1"
MOMENTS = [dt.datetime(2026, 11, 24, 3, 4, 5), dt.datetime(2026, 11, 25, 0, 0, 1)]


def botocore_headers(monkeypatch: pytest.MonkeyPatch, moment: dt.datetime, method: str, url: str,
                     body: bytes, headers: dict[str, str]) -> dict[str, str]:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *_, **__: moment)
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    botocore.auth.S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", REGION).add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize(("method", "url", "body", "headers"), [
    ("GET", "http://127.0.0.1:8333/photonranch-001/data/tst-inst-20261124-00000001-EX10.jpg", b"", {}),
    ("GET", "http://127.0.0.1:8333/photonranch-001/data/x.txt", b"", {"Range": "bytes=0-99"}),
    ("PUT", "http://127.0.0.1:8333/photonranch-001/test/with%20space%20%C3%A9%2B%25.jpg", b"\xff\xd8 jpg",
     {"Content-Type": "image/jpeg"}),
    ("PUT", "https://s3.example.org/photonranch-001/data/y.fits", b"x" * 1000, {"Content-Type": "application/fits"}),
])
def test_the_headers_are_botocores(monkeypatch: pytest.MonkeyPatch, method: str, url: str, body: bytes,
                                   headers: dict[str, str]) -> None:
    signer = SigV4Signer(ACCESS_KEY, SECRET_KEY, REGION)
    path = url.split("/", 3)[3]
    for moment in MOMENTS:  # a second day needs its own signing key, not yesterday's
        expected = botocore_headers(monkeypatch, moment, method, url, body, headers)
        made = signer.headers(method, host_header(url), "/" + path, body, headers, moment)
        assert made == expected


@pytest.mark.parametrize(("url", "host"), [
    ("http://127.0.0.1:8333", "127.0.0.1:8333"),
    ("https://s3.example.org", "s3.example.org"),
    ("https://s3.example.org:443", "s3.example.org"),
    ("http://s3.example.org:80", "s3.example.org"),
    ("https://s3.example.org:9000", "s3.example.org:9000"),
    ("http://[::1]:9000", "[::1]:9000"),
])
def test_the_host_is_the_one_botocore_signs(url: str, host: str) -> None:
    assert host_header(url) == host
    assert botocore.auth._host_from_url(url) == host


def test_a_presigned_posts_fields_are_boto3s_on_each_day(monkeypatch: pytest.MonkeyPatch) -> None:
    client = boto3.client("s3", endpoint_url="http://127.0.0.1:8333", aws_access_key_id=ACCESS_KEY,
                          aws_secret_access_key=SECRET_KEY, region_name=REGION,
                          config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    signer = SigV4Signer(ACCESS_KEY, SECRET_KEY, REGION)
    key = "info-images/tst-inst-20261124-00000001-EX10.jpg"
    conditions: list[object] = [["content-length-range", 0, 1 << 30]]
    for moment in MOMENTS:
        monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *_, m=moment, **__: m)
        monkeypatch.setattr(botocore.signers, "get_current_datetime", lambda *_, m=moment, **__: m)
        expected = client.generate_presigned_post("photonranch-001", key, Conditions=conditions, ExpiresIn=300)
        made = signer.post_fields(key, [*conditions, {"bucket": "photonranch-001"}, {"key": key}], 300, moment)
        assert made == expected["fields"]
        assert list(made) == list(expected["fields"])
