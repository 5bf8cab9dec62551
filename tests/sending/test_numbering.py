"""File numbers: a collision overwrites another exposure on the service, so none may repeat."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from send_test_images.errors import InvalidName, NumberingError, UsageError
from send_test_images.exposure.naming import MAX_FILE_NUMBER
from send_test_images.sending import numbering

WORKERS = 8
RESERVATIONS_PER_WORKER = 25
START_TIMEOUT_S = 60.0


def _reserve_many(home: str, start, results) -> None:  # type: ignore[no-untyped-def]
    """Child process: wait for the others, then take one number at a time as fast as it can."""
    os.environ["SEND_TEST_IMAGES_HOME"] = home
    start.wait(START_TIMEOUT_S)
    got = [numbering.reserve("tst", "cam1", 1)[0] for _ in range(RESERVATIONS_PER_WORKER)]
    results.put(got)


def test_processes_racing_for_numbers_never_get_the_same_one(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(WORKERS)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_reserve_many, args=(str(tmp_path), start, results))
        for _ in range(WORKERS)
    ]
    for proc in procs:
        proc.start()
    got = [results.get(timeout=START_TIMEOUT_S) for _ in procs]
    for proc in procs:
        proc.join(START_TIMEOUT_S)
        assert proc.exitcode == 0
    results.close()
    results.join_thread()

    numbers = sorted(n for worker in got for n in worker)
    total = WORKERS * RESERVATIONS_PER_WORKER
    assert numbers == list(range(numbering.FIRST_NUMBER, numbering.FIRST_NUMBER + total))
    assert all(worker == sorted(worker) for worker in got)  # each run sees the counter advance


def test_a_batch_is_contiguous_and_the_next_batch_follows_it() -> None:
    first = numbering.reserve("tst", "cam1", 5)
    second = numbering.reserve("tst", "cam1", 3)
    assert list(first) == [1, 2, 3, 4, 5]
    assert list(second) == [6, 7, 8]
    assert numbering.last_reserved("tst", "cam1") == 8


def test_cameras_and_sites_count_separately() -> None:
    numbering.reserve("tst", "cam1", 10)
    assert numbering.reserve("tst", "cam2", 1) == range(1, 2)
    assert numbering.reserve("mrc", "cam1", 1) == range(1, 2)
    assert numbering.last_reserved("sro", "cam1") is None


def test_the_servers_highest_number_moves_the_counter_forward() -> None:
    numbering.reserve("tst", "cam1", 2)
    assert numbering.reserve("tst", "cam1", 2, server_highest=500) == range(501, 503)


def test_the_servers_highest_number_never_moves_the_counter_back() -> None:
    numbering.reserve("tst", "cam1", 1, server_highest=500)
    assert numbering.reserve("tst", "cam1", 1, server_highest=3) == range(502, 503)
    assert numbering.reserve("tst", "cam1", 1) == range(503, 504)


def test_numbers_stay_within_eight_digits() -> None:
    last = numbering.reserve("tst", "cam1", 2, server_highest=MAX_FILE_NUMBER - 2)
    assert last[-1] == MAX_FILE_NUMBER
    with pytest.raises(NumberingError, match=r"only 0 of the 8-digit numbers are left"):
        numbering.reserve("tst", "cam1", 1)


def test_a_batch_that_would_overflow_is_refused_whole() -> None:
    numbering.reserve("tst", "cam1", 1, server_highest=MAX_FILE_NUMBER - 3)
    with pytest.raises(NumberingError, match=r"cannot reserve 5 file numbers .* only 2 "):
        numbering.reserve("tst", "cam1", 5)
    assert numbering.reserve("tst", "cam1", 2)[-1] == MAX_FILE_NUMBER


@pytest.mark.parametrize(
    "content",
    ["{not json", '{"site": "tst", "inst": "cam1", "last": "12"}', '["tst", "cam1", 12]', ""],
)
def test_a_corrupt_counter_file_is_named_with_what_to_do(content: str) -> None:
    path = numbering.counter_path("tst", "cam1")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    with pytest.raises(NumberingError, match=r"counter .*tst-cam1\.json is corrupt.*set 'last'"):
        numbering.reserve("tst", "cam1", 1)
    assert path.read_text() == content  # left for the user to repair, not overwritten


def test_a_counter_file_for_another_camera_counts_as_corrupt() -> None:
    path = numbering.counter_path("tst", "cam1")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"site": "tst", "inst": "cam2", "last": 4}))
    with pytest.raises(NumberingError, match=r"does not hold"):
        numbering.reserve("tst", "cam1", 1)


def test_the_counter_file_survives_as_plain_json() -> None:
    numbering.reserve("tst", "cam1", 7)
    data = json.loads(numbering.counter_path("tst", "cam1").read_text())
    assert (data["site"], data["inst"], data["last"]) == ("tst", "cam1", 7)
    leftovers = [p.name for p in numbering.counter_path("tst", "cam1").parent.iterdir()]
    assert not [name for name in leftovers if name.endswith(".tmp")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through file permissions")
def test_an_unwritable_state_dir_is_a_clear_error(tmp_path: Path) -> None:
    path = numbering.counter_path("tst", "cam1")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o500)
    try:
        with pytest.raises(NumberingError, match=r"SEND_TEST_IMAGES_HOME"):
            numbering.reserve("tst", "cam1", 1)
    finally:
        path.parent.chmod(0o700)


@pytest.mark.parametrize(("count", "server"), [(0, None), (-1, None), (1, -1), (1, 10**8)])
def test_bad_counts_and_server_numbers_are_refused(count: int, server: int | None) -> None:
    with pytest.raises(UsageError, match=r"is not allowed"):
        numbering.reserve("tst", "cam1", count, server_highest=server)


def test_a_site_name_cannot_escape_the_counters_directory() -> None:
    with pytest.raises(InvalidName):
        numbering.reserve("../x", "cam1", 1)


def test_a_state_home_that_is_not_a_directory_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    not_a_dir = tmp_path / "home"
    not_a_dir.write_text("a file where the state directory should be")
    monkeypatch.setenv("SEND_TEST_IMAGES_HOME", str(not_a_dir))
    with pytest.raises(NumberingError, match=r"cannot create the state directory.*writable"):
        numbering.reserve("tst", "cam1", 1)
