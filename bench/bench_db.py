"""The local site's database cost per ingested file, on SQLite and (with --db) PostgreSQL.

Ingestion writes each landed file in one transaction (`set_header` or `set_flag`, with the
object's record) after one `object_etag` look-up; the observe page and the API read
`latest_images` and `object_keys`; senders reserve numbers. This times those calls on a fresh
database, one thread, in alternating rounds, and prints microseconds per call (medians and
ranges). The same script runs against the code before SQLAlchemy (same `SiteDB` methods) by
putting that tree first on PYTHONPATH.

    python -m bench db [--files 2000] [--rounds 3] [--db postgresql://USER@HOST:PORT/EMPTY_DB]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from send_test_images.localsite.db import FLAGS, ObjectRecord, SiteDB

FILES_PER_EXPOSURE = 1 + len(FLAGS)


def _per_call_us(calls: int, work: Callable[[], None]) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) / calls * 1e6


def _round(db: SiteDB, exposures: int, offset: int) -> dict[str, float]:
    bases = [f"tst-cam-20261130-{offset + n:08d}" for n in range(exposures)]

    def ingest() -> None:
        for n, base in enumerate(bases):
            key = f"data/{base}-EX00.txt"
            db.object_etag(key)
            db.set_header(base, "data", "tst", {"exposure_time": 3.0, "filter_used": "L"}, {"EXPTIME": "3.0"},
                          ObjectRecord(key, "tst", f"e{n}", 14_000, 1.7e9 + n, None))
            for flag, suffix in zip(FLAGS, ("EX01.fits.fz", "EX10.fits.fz", "EX10.jpg", "EX11.jpg"), strict=True):
                key = f"data/{base}-{suffix}"
                db.object_etag(key)
                db.set_flag(base, "data", "tst", flag, key=key, data_type="EX",
                            record=ObjectRecord(key, "tst", f"e{n}", 100_000, 1.7e9 + n, None))

    reads = max(1, exposures // 10)
    return {
        "ingest, per file (etag look-up + write)": _per_call_us(exposures * FILES_PER_EXPOSURE, ingest),
        "latest_images(50)": _per_call_us(reads, lambda: [db.latest_images("tst", 50) for _ in range(reads)]),
        "object_keys(one exposure)": _per_call_us(
            reads, lambda: [db.object_keys(f"data/{bases[n]}-") for n in range(reads)]),
        "reserve_numbers": _per_call_us(reads, lambda: [db.reserve_numbers("tst", "cam", 1, 0) for _ in range(reads)]),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench db")
    parser.add_argument("--files", type=int, default=2000, help="files ingested per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", default=None, help="also time this (empty) PostgreSQL database")
    args = parser.parse_args(argv)
    exposures = max(1, args.files // FILES_PER_EXPOSURE)
    with tempfile.TemporaryDirectory() as tmp:
        engines: dict[str, SiteDB] = {"sqlite": SiteDB(Path(tmp) / "site.sqlite3")}
        if args.db:
            from send_test_images.localsite.db import database_url

            engines["postgresql"] = SiteDB(database_url(args.db, Path(tmp)))
        figures: dict[tuple[str, str], list[float]] = {}
        for number in range(args.rounds):
            for name, db in engines.items():
                for what, us in _round(db, exposures, number * exposures).items():
                    figures.setdefault((name, what), []).append(us)
        for db in engines.values():
            db.close()
    for (name, what), values in figures.items():
        print(f"{name:10s} {what:40s} median {statistics.median(values):8.0f} us  "
              f"range {min(values):.0f}-{max(values):.0f}")
    return 0
