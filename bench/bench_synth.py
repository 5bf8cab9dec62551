"""How long make_frame takes for the big and the small camera (the whole product set aims at
4096^2 < 0.5 s and 768^2 < 25 ms since issue 13, so synth alone aims at <= 0.35 s and <= 15 ms;
synth version 2 adds a fourth, wide PSF component and bleed trails).

`python -m bench synth [--runs=N]`. Prints the median over N runs after one first run, timed
apart: it also builds the camera's cached fixed pattern, which every later frame reuses.
Writes nothing.
"""

from __future__ import annotations

import argparse
import statistics
import time

from send_test_images.exposure.profiles import get_camera
from send_test_images.exposure.synth import FrameSpec, make_frame

DEFAULT_RUNS = 7
CASES = (("sq4k", "light", 0.35), ("sq768", "light", 0.015))  # camera, kind, target seconds


def time_frame(camera_name: str, kind: str, runs: int) -> tuple[float, float, float, int]:
    """First, median and best seconds of make_frame, and the number of stars drawn.

    The first frame of a camera also builds its fixed pattern: what a one-shot CLI run pays.
    """
    camera = get_camera(camera_name)
    spec = FrameSpec(kind=kind)
    start = time.perf_counter()
    frame = make_frame(spec, camera, seed=0)
    first = time.perf_counter() - start
    seconds = []
    for seed in range(1, runs + 1):
        start = time.perf_counter()
        frame = make_frame(spec, camera, seed=seed)
        seconds.append(time.perf_counter() - start)
    return first, statistics.median(seconds), min(seconds), len(frame.truth)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench synth")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    args = parser.parse_args(argv)
    for camera_name, kind, target in CASES:
        first, median, best, stars = time_frame(camera_name, kind, args.runs)
        verdict = "ok" if median <= target else "SLOW"
        print(f"synth {camera_name} {kind}: median {median * 1000:7.1f} ms, best "
              f"{best * 1000:7.1f} ms, first {first * 1000:7.1f} ms, {stars} stars "
              f"(target {target * 1000:.0f} ms: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
