"""How long one exposure's whole file set takes (make_products), and where the time goes.

Targets: 4096^2 (sq4k) light with all files (hjtfF) < 0.5 s, 768^2 (sq768) < 25 ms, on one core
(issue 13: the header's measurements, FWHM, NSTARS, image statistics, had to fit in these; they
were 1.5 s and 50 ms before). `--like` adds the ptr-observatory preset's full QHY600 frame
(9576 x 6388, txt + 900-px JPG), reported without a target. Each camera is timed with catalogue
stars (the default, issue 16: Gaia DR3 read once per process, in the warm-up run) and with
`--stars synthetic`; the stages are the catalogue run's.
`python -m bench products [--runs=N] [--all-cores] [--seeds=N]`. The process is pinned to one CPU
unless --all-cores is given. Prints the median over N runs after one warm-up run, then the median
of each stage timed on its own with the same inputs. `--seeds=N` also prints the median CPU time
(`time.process_time`, which other tenants of a shared host disturb less than wall time) of N
exposures with N different seeds and pointings, as `up` draws them. Writes nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
from collections.abc import Callable

from astropy.io import fits

from send_test_images.exposure.binning import bin_frame, small_bin_factor
from send_test_images.exposure.fitsfiles import fz_bytes
from send_test_images.exposure.header import make_header_text
from send_test_images.exposure.measure import image_statistics
from send_test_images.exposure.options import STAR_SOURCES
from send_test_images.exposure.presets import get_preset
from send_test_images.exposure.preview import jpeg_bytes, make_preview, make_thumbnail
from send_test_images.exposure.products import draw_frame, make_products, placed_stars
from send_test_images.exposure.profiles import get_camera
from send_test_images.exposure.sky.pointings import make_pointing
from send_test_images.exposure.spec import ExposureSpec
from send_test_images.exposure.synth import FrameSpec, make_frame

DEFAULT_RUNS = 7
CASES = (("sq4k", 0.5), ("sq768", 0.025))  # camera, target seconds for all products
FILES = "hjtfF"
DATE_OBS = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)


def median_seconds(work: Callable[[], object], runs: int) -> float:
    work()  # warm-up: imports, caches, the camera's fixed pattern
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def cpu_per_exposure(camera_name: str, stars: str, count: int) -> float:
    """Median CPU seconds of make_products over `count` exposures, each its own seed and time
    (so its own pointing and stars): one seed's frame says little about a run's."""
    specs = [ExposureSpec(site="tst", inst="bench", number=i + 1, files=FILES, frame=FrameSpec(stars=stars),
                          camera=get_camera(camera_name), seed=1000 + i,
                          date_obs=DATE_OBS + dt.timedelta(seconds=37 * i)) for i in range(count)]
    make_products(specs[0])  # warm-up: catalogue, fixed pattern, tables
    seconds = []
    for spec in specs:
        start = time.process_time()
        make_products(spec)
        seconds.append(time.process_time() - start)
    return statistics.median(seconds)


def stage_seconds(spec: ExposureSpec, runs: int) -> dict[str, float]:
    """Each stage of make_products on its own, fed the outputs of the stages before it."""
    camera = spec.camera
    frame, observation = draw_frame(spec)
    text = make_header_text(spec, frame, observation)
    header = fits.Header.fromstring(text.decode("ascii"))
    factor = small_bin_factor(frame.pixels.shape, camera.small_size)

    def jpgs() -> None:
        shown = make_preview(frame.pixels, camera.small_size)
        jpeg_bytes(shown)
        jpeg_bytes(make_thumbnail(shown))

    return {
        "synth": median_seconds(
            lambda: make_frame(spec.frame, camera, seed=spec.seed, placed=placed_stars(spec, observation)), runs
        ),
        "catalogue stars": median_seconds(lambda: placed_stars(spec, observation), runs),
        "pointing": median_seconds(
            lambda: make_pointing(spec.date_obs, spec.site_profile, spec.seed, camera, spec.frame), runs
        ),
        "statistics": median_seconds(lambda: image_statistics(frame.pixels), runs),
        "header": median_seconds(lambda: make_header_text(spec, frame, observation), runs),
        "jpg (10 + 11)": median_seconds(jpgs, runs),
        "fz small": median_seconds(lambda: fz_bytes(*bin_frame(frame.pixels, header, factor)),
                                   runs),
        "fz large": median_seconds(lambda: fz_bytes(frame.pixels, header, text=text), runs),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench products")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--all-cores", action="store_true", help="do not pin to one CPU")
    parser.add_argument("--seeds", type=int, default=0,
                        help="also the median CPU time over this many exposures of different seeds")
    parser.add_argument("--like", action="store_true",
                        help="also time the ptr-observatory preset's full QHY600 frame")
    args = parser.parse_args(argv)
    pinned = not args.all_cores and hasattr(os, "sched_setaffinity")
    before = os.sched_getaffinity(0) if pinned else set()
    if pinned:
        os.sched_setaffinity(0, {min(before)})
    try:
        for camera_name, target in CASES:
            for stars in STAR_SOURCES:
                spec = ExposureSpec(site="tst", inst="bench", number=1, files=FILES, frame=FrameSpec(stars=stars),
                                    camera=get_camera(camera_name), seed=1, date_obs=DATE_OBS)
                total = median_seconds(lambda spec=spec: make_products(spec), args.runs)
                verdict = "ok" if total <= target else "SLOW"
                print(f"products {camera_name} {FILES} {stars:<9}: median {total * 1000:7.1f} ms "
                      f"(target {target * 1000:.0f} ms: {verdict})")
                if args.seeds > 0:
                    cpu = cpu_per_exposure(camera_name, stars, args.seeds)
                    print(f"  CPU per exposure, median of {args.seeds} seeds: {cpu * 1000:7.1f} ms")
                if stars == "catalogue":
                    for stage, seconds in stage_seconds(spec, args.runs).items():
                        print(f"  {stage:<16} {seconds * 1000:7.1f} ms")
        if args.like:
            preset = get_preset("ptr-observatory")
            spec = ExposureSpec(site="mrc1", inst="bench", number=1, files=preset.files,
                                camera=get_camera(preset.camera), seed=1, date_obs=DATE_OBS,
                                data_type=preset.data_type, preset=preset)
            total = median_seconds(lambda spec=spec: make_products(spec), max(1, args.runs // 3))
            print(f"products --like {preset.name} ({preset.camera}, {preset.files}): "
                  f"median {total * 1000:7.1f} ms")
    finally:
        if pinned:
            os.sched_setaffinity(0, before)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
