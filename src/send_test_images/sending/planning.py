"""A run's exposures planned one at a time, so memory does not grow with `-r`.

`exposure.plan.plan` returns a list: every spec of a block at once. That is right for `make` and
for small runs, but `up -r 200000000` planned (and kept) 200 million specs before it sent a
byte, and `resume` re-planned every block into a dict. `PlannedBlock` makes the very same specs
(a test compares them with `plan`'s, field for field) from the public pieces of
`exposure/plan.py`, one index at a time: the numbers of a block are still reserved at once, the
specs are made as the pipeline asks for them.

Measured (tracemalloc peak while a run starts and hands out its first specs, as in
`tests/faults/test_fault_lazy_planning.py`): 115 kB for 20 exposures and 116 kB for 20 000; it
was 6.9 MB for 20 000 before (~340 B per exposure: ~70 GB for `-r 200000000`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import replace

from send_test_images.exposure.observation import Observation, make_observation, to_utc
from send_test_images.exposure.options import BatchOptions
from send_test_images.exposure.plan import DEFAULT_OVERHEAD, exposure_seed, template_spec
from send_test_images.exposure.spec import ExposureSpec


class PlannedBlock:
    """The specs `plan(options, numbers, seed=seed, now=now)` returns, made on demand.

    Building it checks every option (through `template_spec`) and the clock of the first and last
    exposure; `spec(i)` is the i-th spec, `iter(block)` all of them in sending order.
    """

    def __init__(
        self, options: BatchOptions, numbers: range, *, seed: int, now: dt.datetime | None = None
    ) -> None:
        if len(numbers) != options.count:
            raise ValueError(f"plan needs {options.count} numbers, got {len(numbers)}")
        self.options = options
        self.numbers = numbers
        self.seed = seed
        self.template = template_spec(options, numbers.start if numbers else 1, seed=seed)
        self.cadence = dt.timedelta(seconds=self.template.frame.exptime + DEFAULT_OVERHEAD)
        if options.time is not None:
            self.start = to_utc(options.time)
        else:
            self.start = to_utc(now or dt.datetime.now(dt.UTC)) - self.cadence * (options.count - 1)
        self._stack: tuple[int, Observation] | None = None

    def __len__(self) -> int:
        return len(self.numbers)

    def __iter__(self) -> Iterator[ExposureSpec]:
        for index in range(len(self.numbers)):
            yield self.spec(index)

    def spec(self, index: int) -> ExposureSpec:
        """The spec of the exposure at `index` (0-based), exactly as `plan` makes it."""
        number = self.numbers[index]
        date_obs = self.start + self.cadence * index
        spec = replace(self.template, number=number, date_obs=date_obs, seed=exposure_seed(self.seed, index))
        size = self.options.smartstack
        if size > 1:
            first = index - index % size
            stack_seed = exposure_seed(self.seed, first)
            if self._stack is None or self._stack[0] != first:
                began = self.start + self.cadence * first
                self._stack = (first, make_observation(began, spec.site_profile, stack_seed))
            pointing = self._stack[1]
            spec = replace(
                spec,
                smartstack=(f"stk{self.numbers[first]:08d}", index % size, size),
                ra=pointing.ra,
                dec=pointing.dec,
                frame=replace(spec.frame, field_seed=stack_seed),
            )
        return spec

    def check(self) -> None:
        """Make the first and the last spec: a clock out of range is refused before anything starts."""
        if self.numbers:
            self.spec(0)
            self.spec(len(self.numbers) - 1)

    def for_numbers(self, wanted: Iterable[int]) -> Iterator[ExposureSpec]:
        """The specs of the `wanted` numbers of this block (ascending), one at a time."""
        for number in wanted:
            yield self.spec(self.numbers.index(number))
