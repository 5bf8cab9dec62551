"""Run the benchmarks: `./dev bench` (all) or `./dev bench synth products` (some).

Each `bench/bench_<name>.py` has `main(argv) -> int` and prints its own figures.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    here = Path(__file__).parent
    return sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules([str(here)])
        if m.name.startswith("bench_")
    )


def main(argv: list[str]) -> int:
    names = [a for a in argv if not a.startswith("-")] or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"bench: {unknown[0]!r} is not a benchmark: use one of {', '.join(available())}",
              file=sys.stderr)
        return 2
    status = 0
    for name in names:
        print(f"== bench {name}", flush=True)
        module = importlib.import_module(f"bench.bench_{name}")
        status |= module.main([a for a in argv if a.startswith("-")]) or 0
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
