"""The site's direct S3 path (no boto3 call per request) gives what boto3 gives, and weed agrees.

Presigned POSTs must be exactly boto3's (the API answers them to real clients, weed checks
them); objects written and read must be the ones boto3 sees; a dropped connection is retried
and a refusal is one clear error.
"""

from __future__ import annotations

import datetime as dt
import json
import socketserver
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.auth
import botocore.signers
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from send_test_images.errors import LocalSiteError
from send_test_images.localsite import LocalSite
from send_test_images.localsite.s3direct import DirectS3
from send_test_images.localsite.s3server import DEFAULT_BUCKET, DEFAULT_REGION

from localsite_fixtures import post_file

ACCESS_KEY = "LOCALTESTKEY0000"
SECRET_KEY = "0123456789abcdef0123456789abcdef01234567"
URL = "http://127.0.0.1:8333"
SIZE_LIMIT = ["content-length-range", 0, 1 << 30]
EXPIRES_S = 300
MOMENT = dt.datetime(2026, 11, 24, 3, 4, 5)
FAST_ATTEMPTS = 2


def boto(url: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> Any:
    """boto3 as the site configures it for weed: path style, SigV4."""
    return boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=DEFAULT_REGION,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def site_keys(site: LocalSite) -> tuple[str, str]:
    keys = json.loads((site.data_dir / "s3.json").read_text())["identities"][0]["credentials"][0]
    return keys["accessKey"], keys["secretKey"]


def site_direct(site: LocalSite, **options: Any) -> DirectS3:
    return DirectS3(site.s3_url, DEFAULT_BUCKET, *site_keys(site), DEFAULT_REGION, **options)


@pytest.mark.parametrize("key", ["data/tst-inst-20261123-00000001-EX10.jpg", "test/a b/é+x.txt"])
def test_a_presigned_post_is_exactly_boto3s(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *_, **__: MOMENT)
    monkeypatch.setattr(botocore.signers, "get_current_datetime", lambda *_, **__: MOMENT)
    expected = boto(URL).generate_presigned_post(
        DEFAULT_BUCKET, key, Conditions=[SIZE_LIMIT], ExpiresIn=EXPIRES_S
    )
    direct = DirectS3(URL, DEFAULT_BUCKET, ACCESS_KEY, SECRET_KEY, DEFAULT_REGION)
    made = direct.presign_post(key, [SIZE_LIMIT], EXPIRES_S)
    assert made == expected
    assert list(made["fields"]) == list(expected["fields"])


@pytest.mark.s3
def test_a_presigned_post_is_accepted_by_weed_for_its_key_only(local_site: LocalSite) -> None:
    key = "test/direct-post.txt"
    with site_direct(local_site) as direct:
        presigned = direct.presign_post(key, [SIZE_LIMIT], EXPIRES_S)
        assert post_file(presigned, b"posted", "direct-post.txt").status_code == 204
        assert direct.get(key) == b"posted"
    presigned["fields"]["key"] = "test/direct-elsewhere.txt"
    assert post_file(presigned, b"moved", "direct-elsewhere.txt").status_code == 403


@pytest.mark.s3
@pytest.mark.parametrize("key", ["test/direct.jpg", "test/with space é+%.jpg"])
def test_what_direct_puts_boto3_reads_and_back(local_site: LocalSite, key: str) -> None:
    client = boto(local_site.s3_url, *site_keys(local_site))
    with site_direct(local_site) as direct:
        direct.put(key, b"\xff\xd8 a jpg", "image/jpeg")
        stored = client.get_object(Bucket=DEFAULT_BUCKET, Key=key)
        assert stored["Body"].read() == b"\xff\xd8 a jpg"
        assert stored["ContentType"] == "image/jpeg"
        client.put_object(Bucket=DEFAULT_BUCKET, Key=key, Body=b"from boto3")
        assert direct.get(key) == b"from boto3"


@pytest.mark.s3
def test_a_missing_object_is_one_line_naming_s3s_code(local_site: LocalSite) -> None:
    with site_direct(local_site) as direct, pytest.raises(
        LocalSiteError, match=r"GET of 'test/never-written' .*404 NoSuchKey$"
    ):
        direct.get("test/never-written")


@pytest.mark.s3
def test_wrong_keys_are_refused_not_retried(local_site: LocalSite) -> None:
    direct = DirectS3(local_site.s3_url, DEFAULT_BUCKET, ACCESS_KEY, SECRET_KEY, DEFAULT_REGION)
    with direct, pytest.raises(LocalSiteError, match=r"PUT of 'test/intruder' .*403"):
        direct.put("test/intruder", b"no", "text/plain")


class _DropsFirst(socketserver.BaseRequestHandler):
    """Closes the first connection without an answer (a keep-alive the server gave up on)."""

    served: list[bytes]

    def handle(self) -> None:
        request = self.request.recv(65536)
        self.served.append(request)
        if len(self.served) > 1:
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


@pytest.fixture
def flaky_server() -> Iterator[tuple[str, list[bytes]]]:
    served: list[bytes] = []
    handler = type("Handler", (_DropsFirst,), {"served": served})
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}", served
        server.shutdown()
        thread.join()


def test_a_dropped_connection_is_tried_again(flaky_server: tuple[str, list[bytes]]) -> None:
    url, served = flaky_server
    with DirectS3(url, DEFAULT_BUCKET, ACCESS_KEY, SECRET_KEY, DEFAULT_REGION) as direct:
        assert direct.get("data/x.txt") == b"ok"
    assert len(served) == 2
    assert served[1].startswith(f"GET /{DEFAULT_BUCKET}/data/x.txt HTTP/1.1".encode())
    assert b"Authorization: AWS4-HMAC-SHA256 Credential=" in served[1]


def _authorization(request: bytes) -> bytes:
    return next(line for line in request.split(b"\r\n") if line.startswith(b"Authorization: "))


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_a_get_or_put_carries_the_signature_botocore_makes_from_the_url_alone(
    flaky_server: tuple[str, list[bytes]], monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    """The Host header is handed to botocore rather than worked out by it: the same signature."""
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *_, **__: MOMENT)
    url, served = flaky_server
    with DirectS3(url, DEFAULT_BUCKET, ACCESS_KEY, SECRET_KEY, DEFAULT_REGION) as direct:
        if method == "GET":
            direct.get("data/a b.txt")
        else:
            direct.put("data/a b.txt", b"body", "text/plain")
    unaided = AWSRequest(
        method=method, url=f"{url}/{DEFAULT_BUCKET}/data/a%20b.txt", data=b"body" if method == "PUT" else b"",
        headers={"Content-Type": "text/plain"} if method == "PUT" else {},
    )
    S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", DEFAULT_REGION).add_auth(unaided)
    assert _authorization(served[1]) == f"Authorization: {unaided.headers['Authorization']}".encode()
    assert served[1].count(b"Host: ") == 1


def test_nothing_listening_is_one_clear_error() -> None:
    direct = DirectS3("http://127.0.0.1:9", DEFAULT_BUCKET, ACCESS_KEY, SECRET_KEY, DEFAULT_REGION,
                      attempts=FAST_ATTEMPTS)
    with pytest.raises(LocalSiteError, match=r"GET of 'data/x.txt' at http://127.0.0.1:9 failed"):
        direct.get("data/x.txt")


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:8333", "http://127.0.0.1:8333/prefix", "s3"])
def test_only_an_http_or_https_endpoint_without_a_path_is_allowed(url: str) -> None:
    with pytest.raises(LocalSiteError, match="use http://HOST:PORT or https://HOST"):
        DirectS3(url, DEFAULT_BUCKET, ACCESS_KEY, SECRET_KEY, DEFAULT_REGION)


def test_an_https_endpoint_gets_presigned_posts_to_itself() -> None:
    """An external S3 (`serve --s3-endpoint https://...`) is reached over TLS, as boto3 would."""
    direct = DirectS3("https://127.0.0.1:8443", DEFAULT_BUCKET, ACCESS_KEY, SECRET_KEY, DEFAULT_REGION)
    assert direct.presign_post("data/x.txt", [SIZE_LIMIT], EXPIRES_S)["url"] == f"https://127.0.0.1:8443/{DEFAULT_BUCKET}"


class _ChunkedThenCloses(socketserver.BaseRequestHandler):
    """Answers each connection's one request in chunks and closes it, as a proxy in front of an S3 may."""

    served: list[bytes]

    def handle(self) -> None:
        self.served.append(self.request.recv(65536))
        self.request.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                             b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")


def test_a_chunked_answer_on_a_closing_connection_is_read_whole_and_not_reused() -> None:
    served: list[bytes] = []
    handler = type("Handler", (_ChunkedThenCloses,), {"served": served})
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with DirectS3(url, DEFAULT_BUCKET, ACCESS_KEY, SECRET_KEY, DEFAULT_REGION, attempts=1) as direct:
            assert direct.get("data/x.txt") == b"abcde"
            assert direct.get("data/y.txt") == b"abcde"
        server.shutdown()
        thread.join()
    assert [request.split(b"\r\n", 1)[0] for request in served] == [
        f"GET /{DEFAULT_BUCKET}/data/x.txt HTTP/1.1".encode(), f"GET /{DEFAULT_BUCKET}/data/y.txt HTTP/1.1".encode()
    ]
