"""Nothing gets in: names stay inside their key space, big bodies are refused, the bind is local."""

from __future__ import annotations

import json

import httpx
import pytest

from send_test_images.localsite import LocalSite
from send_test_images.localsite.site import open_host_warning
from send_test_images.localsite.validate import MAX_OBJECT_NAME, object_name_problem
from send_test_images.localsite.web.limits import DEFAULT_MAX_BODY_BYTES

from localsite_fixtures import presign

pytestmark = pytest.mark.s3

GOOD = "tst-inst-20261124-00000001-EX10.jpg"
ESCAPES = [
    "../etc/passwd",
    "..",
    "a..b.jpg",
    "data/x.jpg",
    "..\\x.jpg",
    "x\x00.jpg",
    "x" * (MAX_OBJECT_NAME + 1),
    "tst-ïnst-20261124-00000001-EX10.jpg",
    ".hidden",
    "x y.jpg",
    "%2e%2e%2fx",
]


@pytest.mark.parametrize("name", ESCAPES)
def test_names_that_could_leave_their_key_space_are_refused(local_site: LocalSite, name: str) -> None:
    for route in ("/upload", "/download"):
        answer = presign(local_site.api_url, {"object_name": name}, route)
        assert answer.status_code == 400, route
        assert answer.headers["content-type"].startswith("text/plain")
        assert "object_name" in answer.text


def test_every_photon_ranch_name_is_allowed() -> None:
    for name in (GOOD, "tst-inst-20261124-00000001-EX01.fits.fz", "mrc-sq_1-20261124-00000001-e10.fits.bz2"):
        assert object_name_problem(name) is None


@pytest.mark.parametrize("path", ["/download/data/..%2Fs3.json", "/download/raw/x.jpg", "/download/data/%00"])
def test_file_links_refuse_escapes(local_site: LocalSite, path: str) -> None:
    answer = httpx.get(local_site.api_url + path)
    assert 400 <= answer.status_code < 500
    assert answer.headers["content-type"].startswith("text/plain")


def test_a_missing_file_link_is_a_404(local_site: LocalSite) -> None:
    answer = httpx.get(f"{local_site.api_url}/download/data/{GOOD}")
    assert answer.status_code == 404
    assert answer.text == f"No file stored under data/{GOOD}"


def test_a_body_over_the_limit_is_refused_with_413(local_site: LocalSite) -> None:
    body = json.dumps({"object_name": GOOD, "metadata": "x" * DEFAULT_MAX_BODY_BYTES}).encode()
    answer = httpx.post(local_site.api_url + "/upload", content=body)
    assert answer.status_code == 413
    assert str(DEFAULT_MAX_BODY_BYTES) in answer.text


def test_a_streamed_body_without_length_is_cut_off_at_the_limit(local_site: LocalSite) -> None:
    def chunks():  # chunked transfer: no Content-Length to refuse up front
        for _ in range(4):
            yield b"x" * DEFAULT_MAX_BODY_BYTES

    answer = httpx.post(local_site.api_url + "/upload", content=chunks())
    assert answer.status_code == 413


def test_a_body_just_under_the_limit_is_read(local_site: LocalSite) -> None:
    padding = DEFAULT_MAX_BODY_BYTES - 200
    body = json.dumps({"object_name": GOOD, "metadata": "x" * padding}).encode()
    assert len(body) <= DEFAULT_MAX_BODY_BYTES
    assert httpx.post(local_site.api_url + "/upload", content=body).status_code == 200


@pytest.mark.parametrize("raw", [b"[" * 50_000, b'{"object_name": "\xff"}', b"\x00" * 10])
def test_hostile_json_is_a_400(local_site: LocalSite, raw: bytes) -> None:
    answer = httpx.post(local_site.api_url + "/upload", content=raw)
    assert answer.status_code == 400


def test_the_site_listens_on_loopback_by_default(local_site: LocalSite) -> None:
    assert local_site.api_url.startswith("http://127.0.0.1:")
    assert local_site.s3_url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_no_warning_for_loopback(host: str) -> None:
    assert open_host_warning(host) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "example.org"])
def test_binding_beyond_this_machine_warns(host: str) -> None:
    warning = open_host_warning(host)
    assert warning is not None
    assert warning.startswith("WARNING") and host in warning and "127.0.0.1" in warning
