"""numbering.reserve with a site that reserves: its block is used, and the local counter follows it."""

from __future__ import annotations

import pytest

from send_test_images.errors import NumberingError
from send_test_images.sending import numbering


def test_the_sites_block_is_the_one_used_and_the_counter_moves_past_it() -> None:
    asked: list[tuple[int, int]] = []

    def site(count: int, after: int) -> range:
        asked.append((count, after))
        return range(after + 100, after + 100 + count)

    assert numbering.reserve("tst", "cam", 5, server_highest=7, server=site) == range(107, 112)
    assert asked == [(5, 7)]
    assert numbering.last_reserved("tst", "cam") == 111
    # the next block starts after what the site gave, whatever the site says next time
    assert numbering.reserve("tst", "cam", 2, server=lambda count, after: None) == range(112, 114)


def test_without_a_reservation_service_the_counter_and_server_highest_decide() -> None:
    assert numbering.reserve("tst", "cam", 3, server_highest=40, server=lambda count, after: None) == range(41, 44)


@pytest.mark.parametrize("block", [range(1, 3), range(5, 8)])
def test_a_block_that_overlaps_what_this_machine_used_is_refused(block: range) -> None:
    numbering.reserve("tst", "cam", 4)
    with pytest.raises(NumberingError, match="not a fresh block"):
        numbering.reserve("tst", "cam", 2, server=lambda count, after: block)
    assert numbering.last_reserved("tst", "cam") == 4, "a refused block must not move the counter"


def test_the_servers_highest_is_asked_only_when_no_site_reserved() -> None:
    asked: list[str] = []

    def highest() -> int:
        asked.append("listed")
        return 40

    assert numbering.reserve("tst", "cam", 2, server_highest=highest,
                             server=lambda count, after: range(after + 1, after + 1 + count)) == range(1, 3)
    assert asked == []
    assert numbering.reserve("tst", "cam", 2, server_highest=highest, server=lambda count, after: None) == range(41, 43)
    assert asked == ["listed"]
