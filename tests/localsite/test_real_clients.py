"""Contract tests: the exact requests the real clients make, against a real `serve` on loopback.

Each test replays what a real client sends (method, path, query, body, headers, the browser's
CORS preflight) and checks the answer's status, headers and shape against what the real code
returns. The expected shapes are derived from the real code, named beside each:
- the web UI: LCOGT/ptr_ui `src/store/modules/{site_config,images,calendar,userstatus}.js`,
  `src/store/modules/sitestatus/index.js`, `src/datastreamer/`;
- the API: LCOGT/photonranch-api `api/handler.py`, `api/db.py`, `api/info_images.py`,
  `api/site_configs.py`, `api/night_log.py`, `api/helpers.py`;
- ingestion: LCOGT/ptr_data `lambda_service/{db,info_images,s3_log,datastreamer}.py`;
- the original script: LCOGT/photonranch-helper-scripts `send_test_image/up.py`.
"""

from __future__ import annotations

import bz2
import datetime as dt
import io
import json
import logging
import socket
import time
import zipfile
from typing import Any

import httpx
import numpy as np
import pytest
import wsproto
import wsproto.events
from astropy.io import fits
from PIL import Image as PILImage

from send_test_images.localsite import LocalSite

from localsite_fixtures import local_site, make_header_text, make_jpg, recent_keys, upload, wait_for

__all__ = ["local_site"]  # the fixture is used by name

pytestmark = pytest.mark.s3

SITE = "rcl"
UI_ORIGIN = "http://localhost:8080"
"""Where `npm run serve` puts the real UI; any origin other than the API's own is the point."""
DATE_OBS = "2026-11-30T05:06:07.500"
CRVAL1_DEG = 210.75

PACKAGE_KEYS = {
    "image_id", "base_filename", "data_type", "site", "exposure_time", "filter_used", "right_ascension",
    "declination", "azimuth", "altitude", "airmass", "fits_01_exists", "fits_10_exists", "jpg_medium_exists",
    "jpg_small_exists", "s3_directory", "username", "user_id", "fits_filename", "fits_path", "SMARTSTK",
    "SSTKNUM", "capture_date", "sort_date", "jpg_url", "jpg_thumbnail_url",
}
"""`Image.get_image_pkg` (photonranch-api api/db.py): exactly these keys, no more."""


def base(number: int, site: str = SITE) -> str:
    return f"{site}-sq768-20261129-{number:08d}"


def header(number: int, **extra: object) -> bytes:
    cards: dict[str, object] = {
        "DATE_OBS": DATE_OBS, "CRVAL1": CRVAL1_DEG, "CRVAL2": 12.5, "EXPTIME": 30.0, "FILTER": "R",
        "ALTITUDE": 40.0, "AZIMUTH": 90.0, "AIRMASS": 1.5, "USERNAME": "Ada", "USERID": "googleoauth2123",
        "SITEID": SITE, "INSTRUME": "sq768", "DAY_OBS": "20261129", "ORIGNAME": f"{base(number)}-EX00.fits",
        "SMARTSTK": "no", "SSTKNUM": 0,
    }
    cards.update(extra)
    return make_header_text(**cards)


def ui_get(url: str, **kwargs: Any) -> httpx.Response:
    """A GET as the browser sends it from the UI's page: with its Origin."""
    return httpx.get(url, headers={"Origin": UI_ORIGIN}, **kwargs)


def assert_cors(answer: httpx.Response) -> None:
    """`http_response` (photonranch-api api/helpers.py) sets these two on every handler answer."""
    assert answer.headers["access-control-allow-origin"] == "*"
    assert answer.headers["access-control-allow-credentials"] == "true"


def send_image(api: str, number: int, *, jpg: bool = True, hdr: bool = True, **cards: object) -> str:
    image = base(number)
    if hdr:
        assert upload(api, image + "-EX00.txt", header(number, **cards)).status_code == 204
    if jpg:
        assert upload(api, image + "-EX10.jpg", make_jpg()).status_code == 204
    return image


def listed(api: str, image: str, site: str = SITE) -> dict[str, Any] | None:
    rows = ui_get(f"{api}/{site}/latest_images/100").json()
    return next((row for row in rows if row["base_filename"] == image), None)


# --- CORS: the browser's preflight and the headers on every answer ----------------------------


@pytest.mark.parametrize(("path", "method", "allowed"), [
    ("/all/config", "GET", "OPTIONS,GET"),
    ("/upload", "POST", "OPTIONS,POST"),
    ("/download", "POST", "OPTIONS,POST"),
    (f"/fitsheader/{base(1)}/", "GET", "OPTIONS,GET"),
    (f"/{SITE}/latest_images/1", "GET", "OPTIONS,GET"),
])
def test_a_cors_preflight_is_answered_as_api_gateway_does(
    local_site: LocalSite, path: str, method: str, allowed: str
) -> None:
    """serverless.yml `cors: true`: API Gateway answers OPTIONS itself, 200 and an empty body."""
    answer = httpx.options(local_site.api_url + path, headers={
        "Origin": UI_ORIGIN, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "content-type",
    })
    assert answer.status_code == 200
    assert answer.content == b""
    assert answer.headers["access-control-allow-origin"] == "*"
    assert answer.headers["access-control-allow-methods"] == allowed
    assert "Content-Type" in answer.headers["access-control-allow-headers"].split(",")


def test_every_answer_carries_cors_refusals_included(local_site: LocalSite) -> None:
    api = local_site.api_url
    for answer in (
        ui_get(f"{api}/all/config"),
        ui_get(f"{api}/image/{base(9999)}"),
        httpx.post(f"{api}/upload", content=b'{"object_name": "x.txt", "s3_directory": "nope"}'),
        ui_get(f"{api}/recentuploads"),
    ):
        assert_cors(answer)


# --- config: the UI mounts only after /all/config -----------------------------------------------


def test_all_config_lets_the_ui_mount_and_pick_devices(local_site: LocalSite) -> None:
    """`update_config`, `all_sites`, `camera_config`, `filter_wheel_options` (site_config.js)."""
    api = local_site.api_url
    send_image(api, 1)
    wait_for(lambda: listed(api, base(1)), "the first image")
    answer = ui_get(f"{api}/all/config")
    assert answer.status_code == 200
    assert_cors(answer)
    configs = answer.json()
    assert {"tst", SITE} <= set(configs)
    for site, config in configs.items():
        assert config["wema_name"] in configs  # else update_config drops the site
        assert float(config["latitude"]) == float(config["latitude"])  # all_sites: parseFloat, not NaN
        assert float(config["longitude"]) == float(config["longitude"])
        assert config["TZ_database_name"] and config["name"], site
    mine = configs[SITE]
    for device in ("mount", "telescope", "camera", "filter_wheel", "focuser", "rotator", "sequencer"):
        assert mine[device], device  # Settings.vue: Object.keys of each; undefined breaks the render
    camera = mine["camera"][mine["defaults"]["camera"]]
    assert camera["settings"]["onebyone_pix_scale"] == 2.0  # the sq768 profile
    assert (camera["camera_size_x"], camera["camera_size_y"]) == (768, 768)
    wheel = mine["filter_wheel"][mine["defaults"]["filter_wheel"]]
    assert wheel["settings"]["filter_data"][0][0] == wheel["settings"]["default_filter"]
    one = ui_get(f"{api}/{SITE}/config/")
    assert (one.status_code, one.json()) == (200, mine)


def test_config_of_a_site_without_one_fails_as_the_real_get_config(local_site: LocalSite) -> None:
    """`get_config` reads `config['Item']` of a missing item: KeyError, API Gateway's 502."""
    answer = ui_get(f"{local_site.api_url}/zzz/config")
    assert (answer.status_code, answer.json()) == (502, {"message": "Internal server error"})
    assert "access-control-allow-origin" not in answer.headers  # the gateway's own answer has none


# --- the image package ----------------------------------------------------------------------------


def test_the_image_package_is_get_image_pkg_key_for_key(local_site: LocalSite) -> None:
    api = local_site.api_url
    image = send_image(api, 10)
    row = wait_for(lambda: (r := listed(api, image)) and r["jpg_thumbnail_url"] and r["exposure_time"] and r,
                   "the image with header and thumbnail")
    assert set(row) == PACKAGE_KEYS
    assert row["right_ascension"] == pytest.approx(CRVAL1_DEG)  # degrees; the UI divides by 15
    assert row["fits_filename"] == f"{image}-EX00.fits"  # ORIGNAME
    assert row["fits_path"] == f"{SITE}/sq768/20261129/raw"  # SITEID/INSTRUME/DAY-OBS/raw
    assert (row["SMARTSTK"], row["SSTKNUM"]) == ("no", "0")  # header strings
    assert (row["fits_01_exists"], row["fits_10_exists"]) == (None, None)  # never set: null, not false
    assert row["jpg_medium_exists"] is True and row["s3_directory"] == "data"
    when = dt.datetime.fromisoformat(DATE_OBS).replace(tzinfo=dt.UTC)
    assert row["capture_date"] == row["sort_date"] == int(when.timestamp() * 1000)
    one = ui_get(f"{api}/image/{image}").json()
    assert {k: v for k, v in one.items() if not k.endswith("url")} == \
        {k: v for k, v in row.items() if not k.endswith("url")}


def test_a_jpg_whose_header_is_late_is_dated_on_arrival_and_typed(local_site: LocalSite) -> None:
    """The real row defaults capture/sort date to its creation time and takes the file's data_type
    (`Image`, `update_new_image`, ptr_data db.py); strings and URLs without data are ''."""
    api = local_site.api_url
    before_ms = int(time.time() * 1000) - 5000
    image = send_image(api, 11, hdr=False)
    row = wait_for(lambda: listed(api, image), "the header-less image")
    assert set(row) == PACKAGE_KEYS
    assert row["data_type"] == "EX"
    assert row["capture_date"] >= before_ms and row["capture_date"] == row["sort_date"]
    assert (row["fits_filename"], row["fits_path"], row["SMARTSTK"], row["SSTKNUM"]) == ("", "", "", "")
    assert row["exposure_time"] is None and row["filter_used"] is None
    header_answer = ui_get(f"{api}/fitsheader/{image}/")
    assert (header_answer.status_code, header_answer.json()) == (200, {})  # a row without header: {}
    newest = ui_get(f"{api}/{SITE}/latest_images/1").json()[0]
    assert newest["capture_date"] >= row["capture_date"]  # it sorts by arrival, not last


def test_not_found_texts_are_the_real_ones(local_site: LocalSite) -> None:
    api, missing = local_site.api_url, base(9998)
    image = ui_get(f"{api}/image/{missing}")
    assert (image.status_code, image.text) == (404, f"No results found for {missing}")
    hdr = ui_get(f"{api}/fitsheader/{missing}/")
    assert (hdr.status_code, hdr.text) == (404, f"No fits header found in the db for {missing}")


def test_image_needs_its_jpg_as_the_real_get_image_by_filename(local_site: LocalSite) -> None:
    api = local_site.api_url
    image = send_image(api, 12, jpg=False)
    wait_for(lambda: ui_get(f"{api}/fitsheader/{image}/").json(), "the header alone")
    assert ui_get(f"{api}/image/{image}").status_code == 404


# --- filtered_images: the UI's main list -------------------------------------------------------


def test_filtered_images_as_the_ui_asks_folds_intermediate_smartstack_frames(local_site: LocalSite) -> None:
    """`load_latest_images` (images.js) and `filter_img_pkgs_final_sstack` (api/db.py)."""
    api = local_site.api_url
    for i in range(3):  # a site's digit stack id: only SSTKNUM 2 stays
        send_image(api, 20 + i, SMARTSTK="301126050607", SSTKNUM=i, SSTKLEN=3.0)
    for i in range(2):  # up.py's `ssk_id_...` ids are not digits: not folded
        send_image(api, 30 + i, SMARTSTK="ssk_id_1764479167", SSTKNUM=i)
    wanted = {base(n) for n in (20, 21, 22, 30, 31)}
    wait_for(lambda: wanted <= {r["base_filename"] for r in ui_get(f"{api}/{SITE}/latest_images/100").json()
                                if r["SMARTSTK"]}, "the stack frames with headers")
    answer = ui_get(f"{api}/filtered_images", params={
        "site": SITE, "start_date": "2026-11-29 12:00:00", "end_date": "2026-11-30 12:00:00"})
    assert answer.status_code == 200
    assert_cors(answer)
    names = [row["base_filename"] for row in answer.json()]
    assert base(22) in names and base(20) not in names and base(21) not in names
    assert {base(30), base(31)} <= set(names)
    assert all(set(row) == PACKAGE_KEYS for row in answer.json())
    dates = [row["sort_date"] for row in answer.json()]
    assert dates == sorted(dates, reverse=True)
    outside = ui_get(f"{api}/filtered_images", params={"site": SITE, "end_date": "2026-11-29 12:00:00"}).json()
    assert base(22) not in {row["base_filename"] for row in outside}
    by_name = ui_get(f"{api}/filtered_images", params={"filename": f"{base(30)[:-1]}_"}).json()  # LIKE: _ is one char
    assert {row["base_filename"] for row in by_name} == {base(30), base(31)}
    assert ui_get(f"{api}/filtered_images", params={"filename": base(30).upper()}).json() == []  # case-sensitive
    short = ui_get(f"{api}/filtered_images", params={"site": SITE, "exposure_time_max": "10"}).json()
    assert base(22) not in {row["base_filename"] for row in short}


def test_filtered_images_without_a_query_fails_as_the_real_handler(local_site: LocalSite) -> None:
    answer = ui_get(f"{local_site.api_url}/filtered_images")
    assert (answer.status_code, answer.json()) == (502, {"message": "Internal server error"})


# --- info images ------------------------------------------------------------------------------


def test_infoimage_is_the_real_info_image_package(local_site: LocalSite, caplog: pytest.LogCaptureFixture) -> None:
    """`get_info_image_package` (api/info_images.py) over `handle_info_image_created` (ptr_data)."""
    api, image = local_site.api_url, base(40)
    empty = ui_get(f"{api}/infoimage/{SITE}/3")
    assert (empty.status_code, empty.text) == (204, "")  # HTTP drops the body of a 204
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # the answer was not cut off
    assert ui_get(f"{api}/infoimage/{SITE}/7").status_code == 204  # any channel text: just no item
    body = {"s3_directory": "info-images", "info_channel": 2}
    assert upload(api, image + "-EX10.jpg", make_jpg(), **body).status_code == 204
    record = wait_for(lambda: (a := ui_get(f"{api}/infoimage/{SITE}/2/")).status_code == 200 and a.json(),
                      "the info image on channel 2")
    assert record["channel"] == "2" and record["pk"] == f"{SITE}#2"  # the path's text, echoed
    assert record["site"] == SITE and record["base_filename"] == image
    assert record["s3_directory"] == "info-images"
    assert record["jpg_10_file_path"] == f"info-images/{image}-EX10.jpg"
    assert record["jpg_medium_exists"] is True and record["jpg_small_exists"] is False
    assert httpx.get(record["jpg_url"]).content == make_jpg()
    assert isinstance(record["expiration_timestamp"], int)
    local_site.wait_idle(10)
    thumb = httpx.get(f"{api}/download/info-images/{image}-EX11.jpg")
    assert thumb.status_code == 404  # the real service makes no thumbnail for info images


# --- recentuploads -------------------------------------------------------------------------------


def test_recentuploads_is_the_real_upload_log(local_site: LocalSite) -> None:
    """`get_recent_uploads` (handler.py) over `add_to_recent_uploads_log` (ptr_data s3_log.py)."""
    api = local_site.api_url
    image = send_image(api, 50, hdr=False)
    wait_for(lambda: f"data/{image}-EX10.jpg" in recent_keys(api, SITE), "the upload in the log")
    missing = ui_get(f"{api}/recentuploads")
    assert (missing.status_code, missing.text) == (404, "Please be sure to include the sitecode query parameter.")
    entries = ui_get(f"{api}/recentuploads", params={"site": SITE}).json()
    assert all(e["filename"].startswith("data/") and e["site"] == SITE for e in entries)
    entry = next(e for e in entries if e["filename"] == f"data/{image}-EX10.jpg")
    assert set(entry) == {"site", "upload_timestamp_s", "expire_timestamp_s", "filename", "size_bytes"}
    assert isinstance(entry["upload_timestamp_s"], int)
    assert entry["expire_timestamp_s"] == entry["upload_timestamp_s"] + 48 * 3600
    everything = {e["filename"] for e in ui_get(f"{api}/recentuploads", params={"site": "all"}).json()}
    assert f"data/{image}-EX10.jpg" in everything


# --- download ----------------------------------------------------------------------------------


def _fits_fz() -> bytes:
    data = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    hdus = fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, fits.Header({"FILTER": "R"}))])
    out = io.BytesIO()
    hdus.writeto(out)
    return out.getvalue()


def test_download_unpacks_the_fits_fz_as_the_real_service(local_site: LocalSite) -> None:
    """`get_fits_url` (images.js) posts only the object name; `save_fz_to_fits` (s3_helpers.py)
    stores a plain FITS under downloads/fits/ and the URL fetches that."""
    api, image = local_site.api_url, base(60)
    assert upload(api, image + "-EX10.fits.fz", _fits_fz()).status_code == 204
    answer = httpx.post(f"{api}/download", json={"object_name": f"{image}-EX10.fits.fz"},
                        headers={"Origin": UI_ORIGIN})
    assert answer.status_code == 200
    assert_cors(answer)
    assert f"/downloads/fits/{image}-EX10.fits?" in answer.text
    with fits.open(io.BytesIO(httpx.get(answer.text).content)) as hdus:
        assert len(hdus) == 1 and hdus[0].header["FILTER"] == "R"
        assert hdus[0].data.shape == (64, 64)
    missing = httpx.post(f"{api}/download", json={"object_name": f"{base(61)}-EX10.fits.fz"})
    assert (missing.status_code, missing.json()) == (502, {"message": "Internal server error"})


def test_download_as_tif_is_the_real_bz2_tiff(local_site: LocalSite) -> None:
    """`download_tif` (ButtonRowBelowImage.vue) posts image_type tif and a stretch;
    `save_tiff_to_s3`/`create_tiff` (s3_helpers.py): `downloads/tif/{FILTER}-{stretch}-{name}.tif.bz2`."""
    api, image = local_site.api_url, base(63)
    assert upload(api, image + "-EX10.fits.fz", _fits_fz()).status_code == 204
    answer = httpx.post(f"{api}/download", json={"object_name": f"{image}-EX10.fits.fz", "s3_directory": "data",
                                                 "image_type": "tif", "stretch": "arcsinh"})
    assert answer.status_code == 200
    assert f"/downloads/tif/R-arcsinh-{image}-EX10.tif.bz2?" in answer.text
    with PILImage.open(io.BytesIO(bz2.decompress(httpx.get(answer.text).content))) as tiff:
        assert tiff.size == (64, 64) and tiff.mode == "I;16"
        assert json.loads(tiff.tag_v2[270])["FILTER"] == "R"


def test_downloadzip_zips_the_fits_of_a_time_range(local_site: LocalSite) -> None:
    """`download_zip` (handler.py), `get_files_within_date_range` (db.py); the UI reads `.message`."""
    api, image = local_site.api_url, base(62)
    assert upload(api, image + "-EX00.txt", header(62)).status_code == 204
    assert upload(api, image + "-EX10.fits.fz", _fits_fz()).status_code == 204
    when = int(dt.datetime.fromisoformat(DATE_OBS).replace(tzinfo=dt.UTC).timestamp())
    body = {"site": SITE, "fits_size": "small", "start_timestamp_s": when - 60, "end_timestamp_s": when + 60}
    answer = wait_for(lambda: (a := httpx.post(f"{api}/downloadzip", json=body)).status_code == 200 and a,
                      "the zip")
    with zipfile.ZipFile(io.BytesIO(httpx.get(answer.json()["message"]).content)) as archive:
        assert f"{image}-EX10.fits.fz" in archive.namelist()
    none = httpx.post(f"{api}/downloadzip", json={**body, "start_timestamp_s": 0, "end_timestamp_s": 1})
    assert (none.status_code, none.text) == (404, "No images exist for the given query.")


# --- the quiet services the page calls on load -----------------------------------------------------


def test_the_quiet_services_answer_well_formed_empty_values(local_site: LocalSite) -> None:
    api = local_site.api_url
    assert ui_get(f"{api}/allopenstatus").json() == {}
    assert "status" not in ui_get(f"{api}/{SITE}/complete_status").json()
    for name in ("obs_settings", "wema_settings", "forecast"):
        assert ui_get(f"{api}/{SITE}/{name}").json()["status"] == {}
    assert ui_get(f"{api}/{SITE}/owm_report").json()["status"]["owm_report"] == {}
    assert ui_get(f"{api}/phase_status/{SITE}", params={"max_age_seconds": 3600}).json() == []
    assert ui_get(f"{api}/recent-logs", params={"after_time": 0, "site": SITE}).json() == []
    event = httpx.post(f"{api}/get-event-at-time", json={"site": SITE, "time": "2026-11-30T00:00:00Z"})
    assert event.json() == []
    note = ui_get(f"{api}/nightlog/{SITE}")
    assert note.status_code == 204


# --- the original up.py ---------------------------------------------------------------------------


def test_the_original_up_py_requests_work(local_site: LocalSite) -> None:
    """up.py posts `json.dumps(body)` as form data with no content type, always with an
    info_channel, sends the 11.jpg itself, and reads `latest_images/1`'s `base_filename`."""
    api, image = local_site.api_url, base(70)
    for name, data in ((f"{image}-EX00.txt", header(70)), (f"{image}-EX10.jpg", make_jpg()),
                       (f"{image}-EX11.jpg", make_jpg((64, 64)))):
        presigned = httpx.post(api + "/upload", content=json.dumps(
            {"object_name": name, "s3_directory": "data", "info_channel": 1}).encode())
        assert presigned.status_code == 200
        stored = httpx.post(presigned.json()["url"], data=presigned.json()["fields"], files={"file": (name, data)})
        assert stored.status_code == 204
    wait_for(lambda: listed(api, image), "up.py's image")
    newest = httpx.get(f"{api}/{SITE}/latest_images/1").json()
    assert int(newest[0]["base_filename"].split("-")[-1]) >= 1


# --- the datastream ------------------------------------------------------------------------------


class _WebSocket:
    """The smallest websocket client (wsproto over a socket), enough to read the datastream."""

    def __init__(self, url: str, path: str) -> None:
        host, port = httpx.URL(url).host, httpx.URL(url).port
        self.sock = socket.create_connection((host, port), timeout=10)
        self.ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
        self.sock.sendall(self.ws.send(wsproto.events.Request(host=f"{host}:{port}", target=path)))
        self._pending: list[str] = []
        while not self._accepted():
            pass

    def _accepted(self) -> bool:
        self.ws.receive_data(self.sock.recv(65536))
        for event in self.ws.events():
            if isinstance(event, wsproto.events.AcceptConnection):
                return True
            if isinstance(event, wsproto.events.TextMessage):
                self._pending.append(event.data)
        return False

    def send(self, text: str) -> None:
        self.sock.sendall(self.ws.send(wsproto.events.TextMessage(data=text)))

    def receive(self) -> dict[str, Any]:
        while not self._pending:
            self.ws.receive_data(self.sock.recv(65536))
            self._pending += [e.data for e in self.ws.events() if isinstance(e, wsproto.events.TextMessage)]
        return json.loads(self._pending.pop(0))

    def close(self) -> None:
        self.sock.close()


def test_the_datastream_tells_the_ui_about_a_new_image(local_site: LocalSite) -> None:
    """`openPrimaryConnection`/`update_site` (datastreamer/index.js), `new_data_stream_handler`
    (topic_handlers.js): an `imagedata` message naming the base filename and its directory."""
    api, image = local_site.api_url, base(80)
    socket_ = _WebSocket(api, "/datastream?site=zzz")
    try:
        socket_.send(json.dumps({"action": "updatesubscribersite", "site": SITE}))
        socket_.send("not json")  # ignored, as the real socket API ignores unknown routes
        seen: list[dict[str, Any]] = []
        # the subscription travels while the upload does; upload until a message names the image
        for attempt in range(3):
            upload(api, f"{image}-EX0{attempt}.fits.fz", b"x")
            message = socket_.receive()
            seen.append(message)
            if message["data"]["base_filename"] == image:
                break
        message = seen[-1]
        assert message["topic"] == "imagedata"
        assert message["data"] == {"s3_directory": "data", "base_filename": image, "site": SITE}
    finally:
        socket_.close()


def test_the_datastream_is_also_at_the_real_path(local_site: LocalSite) -> None:
    """Only the scheme and host of `wss://datastream.photonranch.org/dev` need replacing."""
    socket_ = _WebSocket(local_site.api_url, f"/dev?site={SITE}")
    socket_.close()


# --- a FITS before its .txt ----------------------------------------------------------------------


def _fits_bz2(number: int, **cards: object) -> bytes:
    parsed = fits.Header.fromstring(header(number, **cards).decode("ascii"))
    out = io.BytesIO()
    fits.PrimaryHDU(np.zeros((8, 8), dtype=np.uint16), parsed).writeto(out)
    return bz2.compress(out.getvalue())


def test_a_fits_before_its_txt_gives_the_header_as_the_real_fallback(local_site: LocalSite) -> None:
    """`get_header_from_fits` (ptr_data helpers.py): the primary header, its numbers kept as numbers;
    a .fits.fz has an empty primary HDU, so it gives none. A numeric SSTKNUM then fails the real
    `filter_img_pkgs_final_sstack` (`.isdigit()` of an int): 502 for the site's filtered_images."""
    site = "rcf"  # its own site: the typed header makes the site's filtered_images fail
    api, image, packed = local_site.api_url, base(90, site), base(91, site)
    assert upload(api, image + "-EX10.jpg", make_jpg()).status_code == 204
    assert upload(api, image + "-EX10.fits.bz2", _fits_bz2(90)).status_code == 204
    row = wait_for(lambda: (r := listed(api, image, site)) and r["exposure_time"] and r, "the header from the FITS")
    assert row["right_ascension"] == pytest.approx(CRVAL1_DEG)
    assert row["SSTKNUM"] == 0
    stored = ui_get(f"{api}/fitsheader/{image}/").json()
    assert stored["EXPTIME"] == 30.0 and stored["FILTER"] == "R"  # typed, as astropy read them
    failed = ui_get(f"{api}/filtered_images", params={"site": site})
    assert (failed.status_code, failed.json()) == (502, {"message": "Internal server error"})
    assert upload(api, packed + "-EX10.jpg", make_jpg()).status_code == 204
    assert upload(api, packed + "-EX10.fits.fz", _fits_fz()).status_code == 204
    wait_for(lambda: (r := listed(api, packed, site)) and r["fits_10_exists"], "the .fits.fz flag")
    local_site.wait_idle(10)
    assert ui_get(f"{api}/fitsheader/{packed}/").json() == {}
