"""Uploads against a real HTTP server on loopback that plays the Photon Ranch API and S3.

What a user notices: a file arrives whole with the fields S3 needs, a refusal says what the
server said, a hiccup is tried again (and a refusal is not), and a big file is streamed.
"""

from __future__ import annotations

import base64
import hashlib
import random
import socket
import ssl
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from send_test_images.errors import ApiError, StorageError, UploadError
from send_test_images.sending.client import (
    USER_AGENT,
    WRITE_SIZE,
    PhotonRanchClient,
    Uploader,
    _shared_tls_context,
    backoff_delay,
)

from loopback_server import (
    BAD_DIRECTORY,
    Drop,
    LoopbackServer,
    Reply,
    Stall,
    policy_expired,
    s3_error,
)

NAME = "tst-cam1-20261124-00000042-EX10.jpg"
KEY = f"data/{NAME}"
FAST_TIMEOUT = 0.3
"""Seconds; the loopback server answers in milliseconds unless told to stall."""
TEST_RETRIES = 2
STALL_S = 30.0
"""Longer than any client timeout here; the server cuts the stall short when it stops."""
BIG_FILE = 64 * 1024 * 1024
PRESIGNED_FIELDS = [
    "key",
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-security-token",
    "policy",
    "x-amz-signature",
]


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def uploader(server: LoopbackServer, sleeps: list[float]) -> Iterator[Uploader]:
    with Uploader(
        server.url,
        timeout=FAST_TIMEOUT,
        retries=TEST_RETRIES,
        sleep=sleeps.append,
        rng=random.Random(1),
    ) as up:
        yield up


def test_a_file_arrives_whole_with_the_presigned_fields_first_and_file_last(
    server: LoopbackServer, uploader: Uploader, tmp_path: Path
) -> None:
    path = tmp_path / NAME
    path.write_bytes(b"\xff\xd8 not really a jpeg " * 1000)

    result = uploader.send(path, NAME)

    assert (result.key, result.status, result.attempts) == (KEY, 204, 1)
    assert result.bytes == path.stat().st_size
    [presign] = server.to("/upload")
    assert presign.json == {"object_name": NAME, "s3_directory": "data"}
    [post] = server.to("/s3")
    assert post.part_names == [*PRESIGNED_FIELDS, "file"]
    assert post.fields["key"] == KEY
    stored = server.objects[KEY]
    assert stored.filename == NAME
    assert stored.digest == hashlib.sha256(path.read_bytes()).hexdigest()


def test_bytes_in_memory_are_sent_as_well(server: LoopbackServer, uploader: Uploader) -> None:
    header = b"SIMPLE  =                    T" + b" " * 50 + b"END" + b" " * 77
    result = uploader.send(header, NAME.replace("EX10.jpg", "EX00.txt"))
    assert result.key.endswith("EX00.txt")
    assert server.objects[result.key].value == header


def test_each_request_carries_what_an_httpx_client_would_put_on_it(server: LoopbackServer) -> None:
    """Requests go to httpx's transport without an httpx.Client (it cost a third of a request's
    CPU); the site still sees the same requests: the Client's headers with our User-Agent, and
    basic auth when the API URL names a user."""
    with httpx.Client(headers={"User-Agent": USER_AGENT}) as reference:
        expected = {name.lower(): value for name, value in reference.headers.items()}
    with Uploader(server.url.replace("//", "//ranch:s%40cret@", 1), timeout=FAST_TIMEOUT) as up:
        up.send(b"SIMPLE  =                    T", NAME)

    [presign] = server.to("/upload")
    [post] = server.to("/s3")
    for request in (presign, post):
        assert {name: request.headers.get(name) for name in expected} == expected
    assert presign.headers["authorization"] == "Basic " + base64.b64encode(b"ranch:s@cret").decode()
    assert presign.headers["content-type"] == "application/json"
    assert "authorization" not in post.headers  # the presigned URL names no user
    assert post.headers["content-type"].startswith("multipart/form-data; boundary=")


def test_an_info_image_asks_for_its_channel(server: LoopbackServer, uploader: Uploader) -> None:
    result = uploader.send(b"jpg", NAME, s3_directory="info-images", info_channel=2)
    assert result.key == f"info-images/{NAME}"
    assert server.to("/upload")[0].json == {
        "object_name": NAME,
        "s3_directory": "info-images",
        "info_channel": 2,
    }


def test_the_apis_plain_text_refusal_is_shown_as_it_is_and_not_retried(
    server: LoopbackServer, uploader: Uploader, sleeps: list[float]
) -> None:
    with pytest.raises(ApiError) as info:
        uploader.send(b"jpg", NAME, s3_directory="bogus")
    assert str(info.value) == f"bogus/{NAME}: the API refused to presign: 403: {BAD_DIRECTORY}"
    assert (info.value.status, info.value.retryable) == (403, False)
    assert len(server.to("/upload")) == 1
    assert server.to("/s3") == []
    assert sleeps == []


def test_a_bad_info_channel_is_refused_in_the_apis_words(uploader: Uploader) -> None:
    with pytest.raises(ApiError, match=r"Received 4 instead\.$"):
        uploader.send(b"jpg", NAME, s3_directory="info-images", info_channel=4)


def test_s3_access_denied_carries_code_and_message_and_is_not_retried(
    server: LoopbackServer, uploader: Uploader
) -> None:
    message = "Invalid according to Policy: Policy Condition failed"
    server.s3_script.append(s3_error(403, "AccessDenied", message))
    with pytest.raises(StorageError) as info:
        uploader.send(b"jpg", NAME)
    assert str(info.value) == f"{KEY}: S3 refused the upload: 403 AccessDenied: {message}"
    assert (info.value.status, info.value.code, info.value.retryable) == (403, "AccessDenied", False)
    assert len(server.to("/s3")) == 1


@pytest.mark.parametrize(
    "hiccup",
    [
        Reply(500, "oops"),
        s3_error(503, "SlowDown", "Please reduce your request rate."),
        Stall(STALL_S),
        Drop(),
    ],
    ids=["500", "SlowDown", "stall", "dropped"],
)
def test_a_passing_s3_failure_is_tried_again_with_the_same_policy(
    server: LoopbackServer, uploader: Uploader, sleeps: list[float], hiccup: object
) -> None:
    server.s3_script.append(hiccup)  # type: ignore[arg-type]
    result = uploader.send(b"jpg", NAME)
    assert (result.status, result.attempts) == (204, 2)
    assert len(server.to("/s3")) == 2
    assert len(server.to("/upload")) == 1
    assert len(sleeps) == 1
    assert KEY in server.objects


def test_an_expired_policy_is_presigned_again_then_sent(
    server: LoopbackServer, uploader: Uploader, sleeps: list[float]
) -> None:
    server.s3_script.append(policy_expired())
    result = uploader.send(b"jpg", NAME)
    assert (result.status, result.attempts) == (204, 2)
    assert len(server.to("/upload")) == 2
    assert len(server.to("/s3")) == 2
    assert sleeps == []  # nothing to wait for: the server is fine, the policy was stale


def test_an_api_error_that_may_pass_is_tried_again(
    server: LoopbackServer, uploader: Uploader
) -> None:
    server.api_script.append(Reply(502, '{"message": "Internal server error"}', "application/json"))
    result = uploader.send(b"jpg", NAME)
    assert result.attempts == 2
    assert len(server.to("/upload")) == 2


def test_an_api_answer_without_a_presigned_post_is_an_api_error(
    server: LoopbackServer, uploader: Uploader
) -> None:
    server.api_script.append(Reply(200, "<html>maintenance</html>", "text/html"))
    with pytest.raises(ApiError, match=r"answered 200 without a presigned POST.*maintenance"):
        uploader.send(b"jpg", NAME)
    assert server.to("/s3") == []


def test_when_retries_run_out_the_last_error_is_raised_as_retryable(
    server: LoopbackServer, uploader: Uploader, sleeps: list[float]
) -> None:
    slow_down = s3_error(503, "SlowDown", "Please reduce your request rate.")
    server.s3_script.extend([slow_down] * (TEST_RETRIES + 1))
    with pytest.raises(StorageError) as info:
        uploader.send(b"jpg", NAME)
    error = info.value
    assert (error.status, error.code, error.retryable) == (503, "SlowDown", True)
    assert str(error) == (
        f"{KEY}: S3 refused the upload: 503 SlowDown: Please reduce your request rate. "
        f"(gave up after {TEST_RETRIES + 1} tries)"
    )
    assert len(server.to("/s3")) == TEST_RETRIES + 1
    assert len(sleeps) == TEST_RETRIES


def test_a_timeout_that_never_ends_gives_up_naming_the_timeout(
    server: LoopbackServer, uploader: Uploader
) -> None:
    server.s3_script.extend([Stall(STALL_S)] * (TEST_RETRIES + 1))
    with pytest.raises(StorageError, match=r"S3 did not answer within .* \(ReadTimeout\)") as info:
        uploader.send(b"jpg", NAME)
    assert info.value.retryable


def test_an_api_that_is_not_there_is_an_api_error(sleeps: list[float]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nobody = f"http://127.0.0.1:{port}"
    with (
        Uploader(nobody, retries=1, sleep=sleeps.append) as up,
        pytest.raises(ApiError, match=r"lost the connection to the API") as info,
    ):
        up.send(b"jpg", NAME)
    assert info.value.retryable
    assert len(sleeps) == 1


def test_a_missing_file_fails_before_anything_is_sent(
    server: LoopbackServer, uploader: Uploader, tmp_path: Path
) -> None:
    with pytest.raises(UploadError, match=r"cannot read .*nothing\.jpg"):
        uploader.send(tmp_path / "nothing.jpg", NAME)
    assert server.requests == []


def test_backoff_grows_then_stops_at_the_cap() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(n, base=1.0, cap=8.0, rng=rng) for n in range(1, 8)]
    ceilings = [1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == len(delays)  # jittered: parallel retries do not line up


def test_several_threads_can_share_one_uploader(
    server: LoopbackServer, uploader: Uploader
) -> None:
    names = [NAME.replace("00000042", f"{n:08d}") for n in range(1, 25)]
    errors: list[BaseException] = []

    def send(name: str) -> Callable[[], None]:
        def run() -> None:
            try:
                uploader.send(name.encode(), name)
            except BaseException as exc:
                errors.append(exc)

        return run

    threads = [threading.Thread(target=send(name)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert {server.objects[f"data/{n}"].value for n in names} == {n.encode() for n in names}


def test_a_large_file_is_streamed_not_read_into_memory(
    server: LoopbackServer, uploader: Uploader, tmp_path: Path
) -> None:
    path = tmp_path / NAME.replace("EX10.jpg", "EX01.fits.fz")
    with path.open("wb") as f:
        f.write(b"SIMPLE  =                    T")
        f.truncate(BIG_FILE)  # sparse: fast to make, still 64 MB to read and send
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)

    tracemalloc.start()
    try:
        result = uploader.send(path, path.name)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.bytes == BIG_FILE
    assert server.objects[result.key].size == BIG_FILE
    assert server.objects[result.key].digest == digest.hexdigest()
    assert peak < BIG_FILE / 16  # client and server together held a few chunks, not the file


class _CountingTransport(httpx.HTTPTransport):
    """The real transport, noting the size of each piece of a request body it writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: dict[str, list[int]] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        sizes = self.writes.setdefault(request.url.path, [])
        pieces = list(request.stream)  # small bodies only: this test's files fit in memory
        sizes.extend(len(piece) for piece in pieces)
        request.stream = httpx.ByteStream(b"".join(pieces))
        return super().handle_request(request)


def test_a_file_goes_out_in_a_few_large_writes_not_one_per_multipart_piece(
    server: LoopbackServer, tmp_path: Path
) -> None:
    """Each write is a trip through the HTTP stack and a TCP segment; at thousands of files the
    ~30 few-byte pieces of a multipart body were a large part of what sending cost the CPU."""
    transport = _CountingTransport()
    path = tmp_path / NAME
    path.write_bytes(random.Random(5).randbytes(200_000))
    with Uploader(server.url, transport=transport, timeout=FAST_TIMEOUT) as up:
        up.send(path, NAME)

    [post] = server.to("/s3")
    assert server.objects[KEY].digest == hashlib.sha256(path.read_bytes()).hexdigest()
    sizes = transport.writes["/s3"]
    assert sum(sizes) == post.body_size
    assert len(sizes) <= post.body_size // WRITE_SIZE + 1
    assert all(size >= WRITE_SIZE for size in sizes[:-1])


def test_highest_file_number_reads_latest_images_and_recent_uploads(
    server: LoopbackServer,
) -> None:
    server.latest_images["tst"] = [
        {"base_filename": "tst-cam1-20261124-00000041"},
        {"base_filename": "tst-cam2-20261124-00000900"},  # another camera
    ]
    server.recent_uploads["tst"] = [
        {"filename": "data/tst-cam1-20261124-00000043-EX00.txt"},
        {"filename": "data/tst-cam10-20261124-00000950-EX10.jpg"},  # another camera again
        {"filename": "allsky/not-a-photon-ranch-name.jpg"},
    ]
    with PhotonRanchClient(server.url, timeout=FAST_TIMEOUT) as client:
        assert client.highest_file_number("tst", "cam1") == 43
        assert client.highest_file_number("tst", "cam3") is None
    assert [r.query for r in server.to("/recentuploads")] == [{"site": ["tst"]}] * 2
    assert [r.path for r in server.to("/tst/latest_images/100")] == ["/tst/latest_images/100"] * 2


@pytest.mark.parametrize("rows", [None, []], ids=["unknown site (404)", "empty site"])
def test_a_site_with_no_images_has_no_highest_number(
    server: LoopbackServer, rows: list[dict[str, str]] | None
) -> None:
    if rows is not None:
        server.latest_images["new"] = rows
    with PhotonRanchClient(server.url, timeout=FAST_TIMEOUT) as client:
        assert client.highest_file_number("new", "cam1") is None


def test_every_upload_thread_shares_one_verifying_tls_context() -> None:
    """Loading the CA bundle once per thread was start-up a run paid for; the threads start together."""
    _shared_tls_context.cache_clear()
    client = PhotonRanchClient("https://127.0.0.1:9")
    contexts = []

    def remember() -> None:
        contexts.append(client._http("https")._pool._ssl_context)

    threads = [threading.Thread(target=remember) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    assert len(contexts) == 3 and all(c is contexts[0] for c in contexts)
    assert contexts[0].verify_mode == ssl.CERT_REQUIRED and contexts[0].check_hostname


def test_a_run_over_plain_http_never_loads_the_ca_bundle(server: LoopbackServer) -> None:
    """~20 ms of every local run's start-up went on trust roots no plain-http request uses."""
    _shared_tls_context.cache_clear()
    with Uploader(server.url, timeout=FAST_TIMEOUT) as up:
        result = up.send(b"abc", NAME)  # a presign from the API, then the POST to S3: both plain http
        plain = up.client._http("http")._pool._ssl_context
    assert server.objects[result.key].value == b"abc"
    assert _shared_tls_context.cache_info().currsize == 0
    assert plain.verify_mode == ssl.CERT_REQUIRED and plain.check_hostname  # if ever used, it fails closed
    assert plain.cert_store_stats()["x509_ca"] == 0


