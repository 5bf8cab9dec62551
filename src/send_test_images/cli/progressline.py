"""The one line a run redraws on a terminal: tqdm's, saying what is known for the width there is.

tqdm (README, "Dependencies": why tqdm and not rich) measures the terminal at every redraw and
never writes past its width (a line one character too wide wraps, and every `\\r` redraw then
starts a new row), smooths the rate and works out the ETA. We only choose what the line says
(`line_format`, pure) and feed it the counters; `progress.Progress` moves it. Only a run with a
terminal to draw on imports this module, and so tqdm.
"""

from __future__ import annotations

from typing import Any, TextIO

from tqdm import tqdm

from send_test_images.sending.summary import MB, RunStats

WIDE = 80
"""From this many columns on, the line has a bar and says `exposures` in full."""

# What the line says, by what is known and how wide the terminal is. `{mb_s}` and `{errors}` are
# ours (see `Line.format_dict`); the rest is tqdm's.
STARTING = "{n_fmt}/{total_fmt} exposures: making the first one… [{elapsed}]"
STARTING_OPEN = "making the first exposure… [{elapsed}]"
WIDE_LINE = ("{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} exposures "
             "[{elapsed}<{remaining}, {rate_noinv_fmt}, {mb_s}, {errors}]")
NARROW_LINE = "{percentage:3.0f}% {n_fmt}/{total_fmt} {elapsed}<{remaining} {rate_noinv_fmt} {mb_s} {errors}"
OPEN_LINE = "{n_fmt} exposures [{elapsed}, {rate_noinv_fmt}, {mb_s}, {errors}]"
"""A timed run (--duration): no total, so no percentage, bar or ETA."""
FINAL_WIDE = "{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} exposures in {elapsed} [{mean_rate}, {mb_s}, {errors}]"
FINAL_NARROW = "{n_fmt}/{total_fmt} exposures in {elapsed}, {mean_rate}, {mb_s}, {errors}"
FINAL_OPEN = "{n_fmt} exposures in {elapsed} [{mean_rate}, {mb_s}, {errors}]"


def line_format(columns: int | None, *, total: int | None, started: bool, final: bool) -> str:
    """Which line to draw (pure): what is known (a total? a first exposure made? over?) and the room.

    Before the first exposure is made there is no rate to show, only the planned total; at the
    end the rate is the run's mean, and the ETA is gone.
    """
    wide = columns is None or columns >= WIDE
    if final:
        if total is None:
            return FINAL_OPEN
        return FINAL_WIDE if wide else FINAL_NARROW
    if not started:
        return STARTING if total is not None else STARTING_OPEN
    if total is None:
        return OPEN_LINE
    return WIDE_LINE if wide else NARROW_LINE


class Line(tqdm):  # type: ignore[type-arg]
    """tqdm's line, with our counters (MB/s, errors) and a format chosen at each redraw."""

    monitor_interval = 0  # no monitor thread: ours redraws, at a steady pace

    def __init__(self, stats: RunStats, out: TextIO) -> None:
        self.stats = stats
        self.final = False
        super().__init__(
            total=stats.exposures_planned, file=out, unit=" exp", dynamic_ncols=True, mininterval=0,
            miniters=0, smoothing=0.1, leave=True, bar_format=STARTING,
        )

    @property
    def format_dict(self) -> dict[str, Any]:
        found = super().format_dict
        stats = self.stats
        elapsed = found["elapsed"]
        errors = sum(stats.errors.values())
        found["bar_format"] = line_format(found["ncols"], total=self.total, started=stats.exposures_total > 0,
                                          final=self.final)
        found["mb_s"] = f"{stats.bytes_sent / MB / elapsed if elapsed > 0 else 0.0:.1f} MB/s"
        found["errors"] = f"{errors} error{'s' if errors != 1 else ''}"
        found["mean_rate"] = f"{stats.exposures_sent / elapsed if elapsed > 0 else 0.0:.2f} exp/s"
        return found
