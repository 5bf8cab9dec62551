"""The local Photon Ranch answers like the real one: presign, S3 refusals, ingestion, reads.

One real site (weed on loopback) serves the whole module; each test uses its own file numbers
so tests do not see each other's images.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import socket

import httpx
import pytest
from PIL import Image

from send_test_images.localsite import LocalSite
from send_test_images.sending.client import Uploader

from localsite_fixtures import (
    latest,
    local_site,
    make_header_text,
    make_jpg,
    post_file,
    presign,
    recent_keys,
    upload,
    wait_for,
)

__all__ = ["local_site"]  # the fixture is used by name

pytestmark = pytest.mark.s3

SITE = "tst"
DATE_OBS = "2026-11-24T03:04:05.250"
CRVAL1_DEG = 150.0
CRVAL2_DEG = -20.5


def base(number: int, site: str = SITE) -> str:
    return f"{site}-inst-20261123-{number:08d}"


def header(**extra: object) -> bytes:
    cards: dict[str, object] = {
        "DATE_OBS": DATE_OBS,
        "CRVAL1": CRVAL1_DEG,
        "CRVAL2": CRVAL2_DEG,
        "EXPTIME": 30.0,
        "FILTER": "L",
        "ALTITUDE": 55.5,
        "AZIMUTH": 180.25,
        "AIRMASS": 1.21,
        "USERNAME": "Ada Lovelace",
        "USERID": "googleoauth2123",
        "SMARTSTK": "no",
        "SSTKNUM": 0,
    }
    cards.update(extra)
    return make_header_text(**cards)


# --- presign -------------------------------------------------------------------------------


def test_presign_answers_like_boto3_generate_presigned_post(local_site: LocalSite) -> None:
    name = base(1) + "-EX10.jpg"
    answer = presign(local_site.api_url, {"object_name": name, "s3_directory": "data"})
    assert answer.status_code == 200
    presigned = answer.json()
    assert presigned["url"].startswith(local_site.s3_url)
    fields = presigned["fields"]
    assert fields["key"] == f"data/{name}"
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert {"x-amz-credential", "x-amz-date", "policy", "x-amz-signature"} <= set(fields)
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert {"key": f"data/{name}"} in policy["conditions"]
    expires = dt.datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    lifetime = expires - dt.datetime.now(dt.UTC)
    assert dt.timedelta(seconds=290) < lifetime <= dt.timedelta(seconds=300)


@pytest.mark.parametrize("path", ["/upload", "/upload/", "//upload/"])
def test_upload_paths_real_sites_call_all_work(local_site: LocalSite, path: str) -> None:
    answer = presign(local_site.api_url, {"object_name": base(2) + "-EX00.txt"}, path)
    assert answer.status_code == 200
    assert answer.json()["fields"]["key"] == f"data/{base(2)}-EX00.txt"


def test_body_sent_as_text_plain_is_accepted(local_site: LocalSite) -> None:
    answer = httpx.post(
        local_site.api_url + "/upload",
        content=json.dumps({"object_name": base(3) + "-EX00.txt"}),
        headers={"content-type": "text/plain"},
    )
    assert answer.status_code == 200


def test_bad_directory_is_a_plain_text_403(local_site: LocalSite) -> None:
    answer = presign(local_site.api_url, {"object_name": "x.jpg", "s3_directory": "raw"})
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text == "s3_directory must be either 'data', 'info-images', or 'allsky'."


def test_bad_info_channel_is_a_plain_text_403(local_site: LocalSite) -> None:
    body = {"object_name": base(4) + "-EX10.jpg", "s3_directory": "info-images", "info_channel": 4}
    answer = presign(local_site.api_url, body)
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text == "Value for info_channel must be either 1, 2, or 3. Received 4 instead."


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[1, 2]", b'{"object_name": "data/evil.jpg"}', b'{"object_name": 7}', b"{}"],
)
def test_malformed_presign_requests_get_a_plain_4xx(local_site: LocalSite, raw: bytes) -> None:
    answer = httpx.post(local_site.api_url + "/upload", content=raw)
    assert 400 <= answer.status_code < 500
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text


# --- S3 enforces the policy ----------------------------------------------------------------


def test_upload_lands_in_s3_and_can_be_downloaded(local_site: LocalSite) -> None:
    name = base(10) + "-EX01.fits.fz"
    stored = post_file(presign(local_site.api_url, {"object_name": name}).json(), b"FITS!", name)
    assert stored.status_code == 204
    assert stored.content == b""
    # an image_type other than fits/tif: the file as stored (`handler.download`, photonranch-api);
    # the default (fits) unpacks a .fits.fz, which these bytes are not: the real service fails (502)
    url = httpx.post(local_site.api_url + "/download",
                     content=json.dumps({"object_name": name, "image_type": "as-stored"}))
    assert httpx.get(url.text).content == b"FITS!"
    failed = httpx.post(local_site.api_url + "/download", content=json.dumps({"object_name": name}))
    assert (failed.status_code, failed.json()) == (502, {"message": "Internal server error"})


def test_a_real_client_uploads_unchanged(local_site: LocalSite) -> None:
    name = base(11) + "-EX00.txt"
    with Uploader(local_site.api_url, retries=0) as uploader:
        result = uploader.send(header(), name)
    assert (result.key, result.status) == (f"data/{name}", 204)


# --- ingestion and the read side -------------------------------------------------------------


def test_header_and_jpg_in_any_order_make_one_listed_image(local_site: LocalSite) -> None:
    api, image = local_site.api_url, base(20)
    assert upload(api, image + "-EX10.jpg", make_jpg((300, 200))).status_code == 204
    assert upload(api, image + "-EX00.txt", header()).status_code == 204

    row = wait_for(
        lambda: (r := latest(api, SITE, image)) and r["exposure_time"] and r["jpg_small_exists"] and r,
        "the image to be listed with its header and thumbnail",
    )
    assert row["filter_used"] == "L"
    assert row["exposure_time"] == 30.0
    assert row["right_ascension"] == pytest.approx(CRVAL1_DEG)  # degrees, as stored (get_image_pkg)
    assert row["declination"] == pytest.approx(CRVAL2_DEG)
    assert row["altitude"] == pytest.approx(55.5)
    assert row["airmass"] == pytest.approx(1.21)
    assert row["username"] == "Ada Lovelace"
    assert (row["SMARTSTK"], row["SSTKNUM"]) == ("no", "0")
    date_obs = dt.datetime.fromisoformat(DATE_OBS).replace(tzinfo=dt.UTC)
    assert row["capture_date"] == row["sort_date"] == int(date_obs.timestamp() * 1000)
    assert row["jpg_medium_exists"] and not row["fits_01_exists"]

    assert httpx.get(row["jpg_url"]).content == make_jpg((300, 200))
    with Image.open(io.BytesIO(httpx.get(row["jpg_thumbnail_url"]).content)) as thumbnail:
        assert thumbnail.size == (192, 128)
    assert f"data/{image}-EX11.jpg" in recent_keys(api, SITE)

    one = httpx.get(f"{api}/image/{image}").json()
    assert one["image_id"] == row["image_id"]
    fits_header = httpx.get(f"{api}/fitsheader/{image}").json()
    assert fits_header["FILTER"] == "L"
    assert fits_header["DATE-OBS"] == DATE_OBS


def test_latest_images_lists_newest_first_and_only_with_a_jpg(local_site: LocalSite) -> None:
    api, site = local_site.api_url, "ord"
    older, newer, no_jpg = base(30, site), base(31, site), base(32, site)
    upload(api, older + "-EX00.txt", header(DATE_OBS="2026-11-24T01:00:00"))
    upload(api, newer + "-EX00.txt", header(DATE_OBS="2026-11-24T02:00:00"))
    upload(api, no_jpg + "-EX00.txt", header(DATE_OBS="2026-11-24T03:00:00"))
    upload(api, older + "-EX10.jpg", make_jpg())
    upload(api, newer + "-EX10.jpg", make_jpg())
    wait_for(lambda: f"data/{no_jpg}-EX00.txt" in recent_keys(api, site), "the last header")

    def listed() -> list[str] | None:
        rows = httpx.get(f"{api}/{site}/latest_images/10").json()
        names = [r["base_filename"] for r in rows if r["exposure_time"]]
        return names if len(names) == 2 else None

    assert wait_for(listed, "both images with headers") == [newer, older]


def test_fits_files_set_their_flags(local_site: LocalSite) -> None:
    api, image = local_site.api_url, base(40)
    upload(api, image + "-EX10.jpg", make_jpg())
    upload(api, image + "-EX01.fits.fz", b"big")
    upload(api, image + "-EX10.fits.bz2", b"small")
    row = wait_for(
        lambda: (r := latest(api, SITE, image)) and r["fits_01_exists"] and r["fits_10_exists"] and r,
        "both FITS flags",
    )
    assert row["jpg_medium_exists"]


def test_every_file_is_listed_in_recentuploads_even_a_jpg_without_thumbnail(
    local_site: LocalSite,
) -> None:
    api, image = local_site.api_url, base(42)
    upload(api, image + "-EX10.jpg", b"not a jpeg at all")
    upload(api, image + "-EX01.fits.fz", b"big")
    upload(api, image + "-EX00.txt", header())
    keys = {f"data/{image}-EX10.jpg", f"data/{image}-EX01.fits.fz", f"data/{image}-EX00.txt"}
    wait_for(lambda: keys <= recent_keys(api, SITE), "every file in recentuploads")
    local_site.wait_idle(10)
    row = latest(api, SITE, image)
    assert row is not None
    assert row["jpg_medium_exists"] and row["fits_01_exists"] and row["exposure_time"] == 30.0
    assert not row["jpg_small_exists"]
    assert f"data/{image}-EX11.jpg" not in recent_keys(api, SITE)


def test_header_without_pointing_is_not_ingested(local_site: LocalSite) -> None:
    api, image = local_site.api_url, base(41)
    upload(api, image + "-EX00.txt", make_header_text(DATE_OBS=DATE_OBS, EXPTIME=5.0))
    wait_for(lambda: f"data/{image}-EX00.txt" in recent_keys(api, SITE), "the header to land")
    local_site.wait_idle(10)
    assert httpx.get(f"{api}/fitsheader/{image}").status_code == 404


def test_bad_name_is_stored_but_dropped(local_site: LocalSite) -> None:
    api = local_site.api_url
    bad = "tst-inst-20261399-00000050-EX10.jpg"  # 13th month
    assert upload(api, bad, make_jpg()).status_code == 204
    assert httpx.get(f"{api}/download/data/{bad}").status_code == 307  # stored
    _ingested_after(local_site, 53)
    assert httpx.get(f"{api}/image/tst-inst-20261399-00000050").status_code == 404
    # the real upload log fails on a bad name before it writes (s3_log.log_new_upload, ptr_data)
    assert f"data/{bad}" not in recent_keys(api)


def _ingested_after(local_site: LocalSite, number: int) -> None:
    """Upload a good file and wait until it is ingested: events are handled in order, so
    everything uploaded before it has been handled too."""
    marker = base(number) + "-EX00.fits.fz"
    assert upload(local_site.api_url, marker, b"marker").status_code == 204
    wait_for(lambda: f"data/{marker}" in recent_keys(local_site.api_url, SITE), "the marker upload")
    local_site.wait_idle(10)


@pytest.mark.parametrize(("directory", "number"), [("allsky", 51), ("test", 52)])
def test_allsky_and_test_are_stored_not_ingested(local_site: LocalSite, directory: str, number: int) -> None:
    api, image = local_site.api_url, base(number)
    assert upload(api, image + "-EX10.jpg", make_jpg(), s3_directory=directory).status_code == 204
    _ingested_after(local_site, number + 100)
    missing = httpx.get(f"{api}/image/{image}")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/plain")
    assert httpx.get(f"{api}/download/{directory}/{image}-EX11.jpg").status_code == 404  # no thumbnail
    assert httpx.get(f"{api}/download/{directory}/{image}-EX10.jpg").status_code == 307  # stored
    assert f"{directory}/{image}-EX10.jpg" not in recent_keys(api, SITE)  # the log is of data/ only


def test_recentuploads_carries_size_and_the_log_entry_expiry(local_site: LocalSite) -> None:
    """`add_to_recent_uploads_log` (ptr_data s3_log.py): integer seconds, and the entry's own
    expiry 48 h later (UPLOADS_LOG_TTL_HOURS), whatever the image's."""
    api, image = local_site.api_url, base(60)
    data = make_jpg()
    upload(api, image + "-EP10.jpg", data)
    key = f"data/{image}-EP10.jpg"
    entry = wait_for(
        lambda: next((r for r in httpx.get(f"{api}/recentuploads", params={"site": SITE}).json()
                      if r["filename"] == key), None),
        "the EP upload in recentuploads",
    )
    assert entry["site"] == SITE
    assert entry["size_bytes"] == len(data)
    assert isinstance(entry["upload_timestamp_s"], int)
    assert entry["expire_timestamp_s"] == entry["upload_timestamp_s"] + 48 * 3600


def test_info_image_is_found_on_its_channel(local_site: LocalSite) -> None:
    api, image = local_site.api_url, base(70, "inf")
    body = {"s3_directory": "info-images", "info_channel": 2}
    assert upload(api, image + "-EX10.jpg", make_jpg(), **body).status_code == 204
    record = wait_for(
        lambda: (a := httpx.get(f"{api}/infoimage/inf/2")).status_code == 200 and a.json(),
        "the info image on channel 2",
    )
    assert record["base_filename"] == image
    assert record["s3_directory"] == "info-images"
    assert httpx.get(f"{api}/infoimage/inf/1").status_code == 204
    assert latest(api, "inf", image) is None  # info images are not data images


def test_health_names_the_s3_endpoint(local_site: LocalSite) -> None:
    health = httpx.get(local_site.api_url + "/health").json()
    assert health["ok"] is True
    assert health["s3_url"] == local_site.s3_url


# --- connections ---------------------------------------------------------------------------


def test_kept_alive_connections_do_not_wait_for_delayed_acks(local_site: LocalSite) -> None:
    """Nagle off on every accepted connection: with it on, each request after the first on a
    kept-alive connection stalled ~40 ms (a delayed ACK), which capped a run's presigns. The
    stall itself is a timing, so this checks its cause on the connections the API accepted."""
    from send_test_images.localsite.site import _ApiThread

    (api,) = [part for part in local_site._parts if isinstance(part, _ApiThread)]
    assert api.server is not None
    with httpx.Client() as client:
        for _ in range(2):
            assert client.get(f"{local_site.api_url}/openapi.json").status_code == 200
        connections = list(api.server.server_state.connections)
        assert connections, "the API kept no connection open"
        for connection in connections:
            sock = connection.transport.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


@pytest.mark.parametrize("name", ["username", "site", "filename"])
def test_a_nul_in_a_filtered_images_filter_is_a_400_naming_it_on_every_engine(local_site: LocalSite, name: str) -> None:
    """PostgreSQL text cannot hold NUL: the driver refuses the query, which must not be a 502."""
    answer = httpx.get(f"{local_site.api_url}/filtered_images", params={name: "a\x00b"})
    assert answer.status_code == 400
    assert answer.text == f"{name} 'a\\x00b' is not allowed: use text without NUL characters"
