"""Planning a run: numbers, times, seeds and smartstacks, before anything is drawn or sent."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from send_test_images.errors import UsageError
from send_test_images.exposure.options import BatchOptions
from send_test_images.exposure.plan import DEFAULT_OVERHEAD, plan, run_start
from send_test_images.exposure.products import make_exposure
from send_test_images.exposure.synth import make_frame

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


def test_every_exposure_has_its_number_and_the_run_ends_now() -> None:
    specs = plan(BatchOptions(repeat=3, camera="sq768"), range(40, 43), seed=1, now=NOW)
    assert [s.number for s in specs] == [40, 41, 42]
    assert specs[-1].date_obs == NOW
    assert specs[0].date_obs < specs[1].date_obs < specs[2].date_obs
    assert len({s.seed for s in specs}) == 3


def test_a_given_time_is_the_first_exposure() -> None:
    start = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    specs = plan(BatchOptions(repeat=2, camera="sq768", time=start), range(1, 3), seed=1)
    assert specs[0].date_obs == start


def test_same_seed_plans_the_same_run() -> None:
    a = plan(BatchOptions(repeat=2, camera="sq768"), range(1, 3), seed=9, now=NOW)
    b = plan(BatchOptions(repeat=2, camera="sq768"), range(1, 3), seed=9, now=NOW)
    assert a == b


def test_smartstack_frames_share_pointing_and_stars_but_not_noise() -> None:
    specs = plan(BatchOptions(repeat=2, smartstack=3, camera="sq768"), range(10, 16), seed=4, now=NOW)
    first, second = specs[:3], specs[3:]
    assert [s.smartstack for s in first] == [("stk00000010", i, 3) for i in range(3)]
    assert {s.smartstack[0] for s in second} == {"stk00000013"}  # type: ignore[index]
    assert len({(s.ra, s.dec) for s in first}) == 1
    assert (first[0].ra, first[0].dec) != (second[0].ra, second[0].dec)
    frames = [make_frame(s.frame, s.camera, seed=s.seed) for s in first[:2]]
    assert np.allclose(frames[0].truth["x"], frames[1].truth["x"])  # the same stars ...
    assert not np.array_equal(frames[0].pixels, frames[1].pixels)  # ... under fresh noise
    headers = [make_exposure(s).header for s in first]
    assert [h["SSTKNUM"] for h in headers] == [0, 1, 2]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (BatchOptions(files="hq"), "files 'hq' is not allowed"),
        (BatchOptions(filter="Z"), "'Z'"),
        (BatchOptions(site="a-b"), "site 'a-b' is not allowed"),
        (BatchOptions(frame="light", exptime=0.0), "exposure time 0.0 is not allowed for a light"),
    ],
)
def test_bad_options_fail_while_planning(options: BatchOptions, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        plan(options, range(1, 1 + options.count), seed=1, now=NOW)


def test_a_run_ends_now_unless_that_would_overlap_the_sites_newest_exposure() -> None:
    now = dt.datetime(2026, 11, 30, 20, 0, tzinfo=dt.UTC)
    cadence = dt.timedelta(seconds=35)
    ends_now = now - cadence * 2
    assert run_start(3, cadence, now, None) == ends_now
    assert run_start(3, cadence, now, ends_now - dt.timedelta(seconds=10)) == ends_now  # nothing in the way
    newest_end = now - dt.timedelta(seconds=20)  # the previous run's last exposure ended 20 s ago
    assert run_start(3, cadence, now, newest_end) == newest_end + dt.timedelta(seconds=DEFAULT_OVERHEAD)
