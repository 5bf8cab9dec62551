"""Issue 11, item 7: planning is lazy, so memory does not grow with `-r` (new runs and resumed ones).

`up -r 200000000` planned every exposure before sending one. Now a block's numbers are reserved
at once and its specs made one at a time (exposure/plan.py, PlannedBlock); `resume` re-plans the same way.
Measured as Python's peak allocation (tracemalloc) while a run starts, or is reopened, and hands
out its first specs: the same for 20 000 exposures as for 20 (116 kB and 115 kB; it was 6.9 MB).
"""

from __future__ import annotations

import datetime as dt
import itertools
import tracemalloc
from collections.abc import Callable, Iterator

import pytest

from send_test_images.exposure.options import BatchOptions
from send_test_images.exposure.plan import PlannedBlock, plan
from send_test_images.sending import run
from send_test_images.sending.options import Destination, RunRequest, SendOptions

from inprocess import CAMERA
from loopback_server import LoopbackServer

SMALL_RUN = 20
LARGE_RUN = 20_000
FIRST_SPECS = 3
GROWTH_ALLOWED = 2.0
"""Peak of the large run over the small one's; keeping a spec per exposure made it 60x."""
NOW = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


@pytest.mark.parametrize(
    "options",
    [
        BatchOptions(repeat=7, camera=CAMERA),
        BatchOptions(repeat=3, smartstack=4, camera=CAMERA),
        BatchOptions(repeat=5, camera=CAMERA, time=NOW),
    ],
    ids=["plain", "smartstack", "with-time"],
)
def test_a_spec_asked_for_out_of_order_is_the_one_made_in_order(options: BatchOptions) -> None:
    """`resume` asks for the numbers it owes, in any order: the answer must not depend on it."""
    numbers = range(41, 41 + options.count)
    in_order = list(PlannedBlock(options, numbers, seed=9, now=NOW))
    lazy = PlannedBlock(options, numbers, seed=9, now=NOW)
    backwards = [lazy.spec(i) for i in reversed(range(options.count))][::-1]
    assert backwards == in_order == plan(options, numbers, seed=9, now=NOW)
    assert list(lazy.for_numbers([numbers[-1], numbers[0]])) == [in_order[-1], in_order[0]]


def peak_bytes(work: Callable[[], None]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def request(repeat: int, api_url: str) -> RunRequest:
    batch = BatchOptions(site="tst", inst=f"lazy{repeat}", repeat=repeat, camera=CAMERA, seed=3)
    return RunRequest(batch=batch, destination=Destination(api_url), sending=SendOptions(workers=0))


def start_and_take_specs(repeat: int, api_url: str) -> Callable[[], None]:
    def work() -> None:
        asked = request(repeat, api_url)
        seed = run.check(asked)
        with run.Run.start(asked, api_url, seed=seed) as started:
            assert len(list(itertools.islice(started.specs, FIRST_SPECS))) == FIRST_SPECS

    return work


def reopen_and_take_specs(run_id: str, api_url: str) -> Callable[[], None]:
    def work() -> None:
        with run.Run.reopen(run_id, api_url, SendOptions(workers=0)) as reopened:
            assert reopened.planned is not None and reopened.planned >= SMALL_RUN
            assert len(list(itertools.islice(reopened.specs, FIRST_SPECS))) == FIRST_SPECS

    return work


def test_starting_a_run_takes_the_same_memory_for_20000_exposures_as_for_20(server: LoopbackServer) -> None:
    start_and_take_specs(SMALL_RUN, server.url)()  # imports and caches warmed up, outside the count
    small = peak_bytes(start_and_take_specs(SMALL_RUN, server.url))
    large = peak_bytes(start_and_take_specs(LARGE_RUN, server.url))

    assert large < small * GROWTH_ALLOWED, (small, large)


def test_resuming_a_run_takes_the_same_memory_for_20000_exposures_as_for_20(server: LoopbackServer) -> None:
    run_ids = {}
    for repeat in (SMALL_RUN, LARGE_RUN):
        asked = request(repeat, server.url)
        with run.Run.start(asked, server.url, seed=run.check(asked)) as started:
            run_ids[repeat] = started.run_id  # journaled and reserved, nothing made: all owed
    reopen_and_take_specs(run_ids[SMALL_RUN], server.url)()
    small = peak_bytes(reopen_and_take_specs(run_ids[SMALL_RUN], server.url))
    large = peak_bytes(reopen_and_take_specs(run_ids[LARGE_RUN], server.url))

    assert large < small * GROWTH_ALLOWED, (small, large)
