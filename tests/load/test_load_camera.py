"""A simulated camera: numbers never reused, cadence from the profile or fixed, options checked once."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

import pytest

from send_test_images import defaults
from send_test_images.errors import ApiError, UsageError
from send_test_images.exposure.naming import MAX_FILE_NUMBER
from send_test_images.load.camera import CADENCE_JITTER, SimulatedCamera, camera_cadence, user_seed
from send_test_images.load.ledger import Ledger, file_kind, reason
from send_test_images.load.names import CameraName
from send_test_images.load.options import ARGUMENTS, LoadOptions, resolve_host
from send_test_images.load.pool import FramePool, PoolKey

WHEN = dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.UTC)


def options(**values: object) -> LoadOptions:
    parsed = {a.flag.removeprefix("--").replace("-", "_"): a.default for a in ARGUMENTS}
    parsed.update({"camera": "sq768", "files": "hj"} | values)
    return LoadOptions.from_namespace(argparse.Namespace(**parsed))


def camera(opts: LoadOptions, pool: bool = False) -> SimulatedCamera:
    key = PoolKey(opts.camera, opts.frame, opts.files, opts.fits_format, opts.data_type, 1, 3)
    return SimulatedCamera(CameraName("abc00", "c0"), opts, key, FramePool.build(key) if pool else None,
                           seed=user_seed(3, "abc00", "c0"), clock=lambda: WHEN)


def test_the_defaults_are_ups() -> None:
    opts = LoadOptions.from_namespace(argparse.Namespace())
    assert (opts.camera.name, opts.files, opts.fits_format, opts.frame.exptime) == (
        defaults.CAMERA, defaults.FILES, defaults.FITS_FORMAT, defaults.EXPTIME)
    assert (opts.cadence, opts.seed, opts.run_tag, opts.fresh_frames, opts.ledger) == (None, None, None, False, None)


def test_values_come_as_text_from_the_web_ui() -> None:
    opts = options(cadence="2.5", pool_size="8", seed="42", run_tag="x1y", upload_retries="0", ledger="l.json",
                   exptime="5")
    assert (opts.cadence, opts.pool_size, opts.seed, opts.run_tag, opts.retries, opts.ledger) == (
        2.5, 8, 42, "x1y", 0, Path("l.json"))
    assert opts.frame.exptime == 5.0


@pytest.mark.parametrize(("values", "message"), [
    ({"camera": "sq9k"}, "camera 'sq9k' is not allowed"),
    ({"files": "hx"}, "files 'hx' is not allowed"),
    ({"cadence": "-1"}, "cadence '-1' is not allowed"),
    ({"cadence": "soon"}, "cadence 'soon' is not allowed"),
    ({"pool_size": "0"}, "pool size '0' is not allowed"),
    ({"pool_size": "2.5"}, "pool size '2.5' is not allowed"),
    ({"seed": "-3"}, "seed '-3' is not allowed"),
    ({"run_tag": "ABCD"}, "run tag 'ABCD' is not allowed"),
    ({"fits_format": "gz"}, "FITS format 'gz' is not allowed"),
    ({"upload_timeout": "0"}, "upload timeout '0' is not allowed"),
    ({"exptime": "nan"}, "exposure time 'nan' is not allowed"),
])
def test_a_bad_value_is_one_line_naming_it(values: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        options(**values)


def test_host_is_a_url_or_a_stage_never_the_embedded_site() -> None:
    assert resolve_host("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    assert resolve_host("test") == "https://api.photonranch.org/test"
    with pytest.raises(UsageError, match="--host local is not allowed"):
        resolve_host("local")
    with pytest.raises(UsageError, match="no API to load"):
        resolve_host(None)


def test_numbers_start_after_what_the_site_has_and_are_never_reused() -> None:
    cam = camera(options())
    cam.start_after(None)
    assert cam.reserve() == 1
    cam.start_after(41)
    assert [cam.reserve(), cam.reserve()] == [42, 43]
    cam.start_after(7)  # never backwards
    assert cam.reserve() == 44
    cam.next_number = MAX_FILE_NUMBER + 1
    with pytest.raises(UsageError, match="has used every file number"):
        cam.reserve()


def test_the_cadence_is_the_profiles_with_jitter_or_fixed() -> None:
    drawn = camera(options(exptime="30"))
    base = camera_cadence(drawn.options)
    assert base > 30
    cadences = [drawn.cadence() for _ in range(200)]
    assert all(base * (1 - CADENCE_JITTER) <= c <= base * (1 + CADENCE_JITTER) for c in cadences)
    assert len(set(cadences)) > 100
    assert camera(options(cadence="0")).cadence() == 0.0
    assert camera(options(cadence="7.5")).cadence() == 7.5


def test_a_camera_is_reproducible_from_its_seed() -> None:
    one, two = camera(options(), pool=True), camera(options(), pool=True)
    assert [one.cadence() for _ in range(3)] == [two.cadence() for _ in range(3)]
    assert one.expose(5).files[0].data == two.expose(5).files[0].data


def test_expose_names_the_cameras_files() -> None:
    for cam in (camera(options(), pool=True), camera(options(fresh_frames=True))):
        exposure = cam.expose(cam.reserve())
        assert [str(f.name) for f in exposure.files] == ["abc00-c0-20261129-00000001-E00.txt",
                                                         "abc00-c0-20261129-00000001-E10.jpg"]
        assert exposure.bytes == sum(len(f.data) for f in exposure.files)


def test_the_ledger_adds_up_and_says_what_is_unaccounted(tmp_path: Path) -> None:
    one, two = Ledger(), Ledger()
    one.reserve(5)
    one.files_sent, one.bytes_sent, one.exposures_complete = 5, 100, 1
    two.reserve(5)
    two.files_sent, two.files_failed, two.files_stopped = 2, 1, 1
    total = Ledger()
    total.add(one)
    total.add(Ledger.from_dict(two.to_dict()))
    assert (total.files_reserved, total.files_sent, total.unaccounted) == (10, 7, 1)
    assert "10 files reserved = 7 sent + 1 failed + 1 stopped + 1 unaccounted" in total.line()
    total.write(tmp_path / "ledger.json", run_tag="abc")
    assert json.loads((tmp_path / "ledger.json").read_text())["unaccounted"] == 1


def test_locust_groups_by_file_kind_and_by_error_without_its_key() -> None:
    assert file_kind("abc00-c0-20261130-00000001-EX10.fits.fz") == "10.fits.fz"
    assert file_kind("abc00-c0-20261130-00000001-E00.txt") == "00.txt"
    error = ApiError("data/x-EX00.txt: the API refused to presign: 403: no", key="data/x-EX00.txt")
    assert reason(error) == "the API refused to presign: 403: no"
