"""What the observe page costs the site: one poll's state, and a histogram and a star profile.

The page asks for `/site/{site}/observe.json` every second, so the state behind it must stay far
below that with thousands of images stored; a click on a star should answer while the user still
looks at it. Measured at the handler level (no HTTP, which is the same for every route) on a
SiteDB filled with `--images` rows (each with a real ~270-card header, as ingestion stores it), and
on one sq768 exposure's small FITS; medians of `--rounds`.

    python -m bench observe [--images 5000] [--rounds 30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from send_test_images.exposure.products import make_products
from send_test_images.exposure.profiles import get_camera
from send_test_images.exposure.spec import ExposureSpec
from send_test_images.localsite import pixels
from send_test_images.localsite.db import ObjectRecord, SiteDB
from send_test_images.localsite.headertext import parse_header_text
from send_test_images.localsite.imagequery import ImageQuery
from send_test_images.localsite.web.pages import site_state

SITE = "big"
START_S = 1_780_000_000.0


def _fill(db: SiteDB, count: int, real_header: dict[str, str]) -> None:
    """`count` exposures with a header as big as a real one, a medium JPG and a small FITS, 30 s apart."""
    for i in range(count):
        base = f"{SITE}-cam1-20261120-{i:08d}"
        header = {**real_header, "FILTER": "gp" if i % 2 else "rp", "EXPTIME": str(i % 5 + 1)}
        values = {"capture_date": START_S + 30 * i, "filter_used": header["FILTER"],
                  "exposure_time": float(i % 5 + 1), "username": "ann"}
        db.set_header(base, "data", SITE, values, header, _record(f"data/{base}-EX00.txt"))
        db.set_flag(base, "data", SITE, "jpg_medium_exists", f"data/{base}-EX10.jpg", _record(f"data/{base}-EX10.jpg"))
        db.set_flag(base, "data", SITE, "fits_10_exists", None, _record(f"data/{base}-EX10.fits.fz"))


def _record(key: str) -> ObjectRecord:
    return ObjectRecord(key, SITE, None, 100, START_S, None)


def _median_ms(work: Callable[[], object], rounds: int) -> float:
    work()  # warm caches: the page polls the same thing every second
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench observe")
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)
    spec = ExposureSpec(site=SITE, inst="cam1", number=1, files="hf", camera=get_camera("sq768"), seed=1)
    products = make_products(spec)
    real_header = parse_header_text(next(p.data for p in products if str(p.name).endswith(".txt")).decode("ascii"))
    small = next(p.data for p in products if "10.fits" in str(p.name))
    with tempfile.TemporaryDirectory(prefix="bench-observe-") as tmp:
        db = SiteDB(Path(tmp) / "site.sqlite3")
        _fill(db, args.images, real_header)
        for label, query in (
            ("poll, newest 48", ImageQuery(site=SITE)),
            ("page 10 (cards 481-528)", ImageQuery(site=SITE, page=10)),
            ("filtered: filter, exposure, file name", ImageQuery(site=SITE, filter="gp", exposure_min=2,
                                                                 filename="0001")),
        ):
            ms = _median_ms(lambda q=query: site_state(db, q), args.rounds)
            print(f"{label:40s} {ms:8.1f} ms  ({args.images} images stored)")
        db.close()
    frame = pixels.fits_pixels(small)
    for label, work in (("read the small FITS (sq768, .fits.fz)", lambda: pixels.fits_pixels(small)),
                        ("histogram", lambda: pixels.histogram(frame)),
                        ("star profile", lambda: pixels.star_profile(frame, 0.5, 0.5))):
        print(f"{label:40s} {_median_ms(work, args.rounds):8.1f} ms")
    return 0
