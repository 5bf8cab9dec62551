"""Simulated cameras are named so no two users, workers or machines collide, within the naming rules."""

from __future__ import annotations

import itertools

import pytest

from send_test_images.errors import UsageError
from send_test_images.exposure.naming import MAX_BASE_LENGTH, make_base, parse
from send_test_images.load.names import (
    MAX_USERS_PER_WORKER,
    MAX_WORKERS,
    base36,
    camera_name,
    check_run_tag,
    new_run_tag,
)


def test_every_worker_and_user_gets_its_own_camera() -> None:
    workers = [0, 1, 2, 35, 36, 37, MAX_WORKERS - 1]
    users = [0, 1, 9, 10, 35, 36, 1295, 1296, MAX_USERS_PER_WORKER - 1]
    names = {camera_name("k7q", w, u) for w, u in itertools.product(workers, users)}
    assert len(names) == len(workers) * len(users)
    assert {n.site for n in names} == {camera_name("k7q", w, 0).site for w in workers}


def test_the_longest_names_fit_the_base_filename_column() -> None:
    name = camera_name("zzz", MAX_WORKERS - 1, MAX_USERS_PER_WORKER - 1)
    assert (name.site, name.inst) == ("zzzzz", "czzzz")
    base = make_base(name.site, name.inst, "20261130", 99_999_999)
    assert len(base) == MAX_BASE_LENGTH
    assert parse(f"{base}-EX10.jpg").site == "zzzzz"


def test_two_run_tags_never_share_a_site_code() -> None:
    assert camera_name("abc", 1, 0).site != camera_name("abd", 1, 0).site
    assert camera_name("abc", 1, 0) == camera_name("abc", 1, 0)


def test_random_tags_are_letters() -> None:
    for _ in range(50):
        tag = new_run_tag()
        assert check_run_tag(tag) == tag and tag.isalpha() and tag.islower()


@pytest.mark.parametrize("tag", ["ab", "abcd", "AB1", "a-b", "", "ab_"])
def test_a_bad_run_tag_is_refused(tag: str) -> None:
    with pytest.raises(UsageError, match=r"run tag .* is not allowed: use 3 lower-case letters or digits"):
        check_run_tag(tag)


@pytest.mark.parametrize(("worker", "user"), [(-1, 0), (MAX_WORKERS, 0), (0, -1), (0, MAX_USERS_PER_WORKER)])
def test_indexes_beyond_the_name_space_are_refused(worker: int, user: int) -> None:
    with pytest.raises(UsageError, match=r"index .* is not allowed"):
        camera_name("abc", worker, user)


def test_base36() -> None:
    assert [base36(v, 2) for v in (0, 9, 10, 35, 36, 1295)] == ["00", "09", "0a", "0z", "10", "zz"]
