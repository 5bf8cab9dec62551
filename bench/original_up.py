"""The original algorithm, re-implemented for timing only: float64 Perlin, bz2, one file at a time.

Written from the description of the original script (not copied from it): every exposure is a
float64 Perlin-noise image, written as FITS and compressed with bz2, plus a header .txt and two
JPGs; each file is presigned and POSTed before the next one is made, on a fresh connection,
with no concurrency. It is generous to the original: the noise is vectorised numpy, not a
per-pixel Python loop.
"""

from __future__ import annotations

import bz2
import datetime as dt
import io
import time

import httpx
import numpy as np
from astropy.io import fits
from PIL import Image

OCTAVES = 4
BASE_CELLS = 4
"""Lattice cells across the image at the coarsest octave."""
SKY_ADU = 1000.0
BLOB_ADU = 3000.0
THUMBNAIL = 128
TIMEOUT = 30.0


def perlin(size: int, cells: int, rng: np.random.Generator) -> np.ndarray:
    """Classic gradient noise on a `cells`×`cells` lattice, float64, roughly in [-1, 1]."""
    angles = rng.uniform(0, 2 * np.pi, (cells + 1, cells + 1))
    gx, gy = np.cos(angles), np.sin(angles)
    t = np.linspace(0, cells, size, endpoint=False)
    x, y = np.meshgrid(t, t)
    x0, y0 = x.astype(int), y.astype(int)
    fx, fy = x - x0, y - y0

    def corner(dx: int, dy: int) -> np.ndarray:
        return gx[y0 + dy, x0 + dx] * (fx - dx) + gy[y0 + dy, x0 + dx] * (fy - dy)

    def fade(v: np.ndarray) -> np.ndarray:
        return v * v * v * (v * (v * 6 - 15) + 10)

    u, v = fade(fx), fade(fy)
    top = corner(0, 0) + u * (corner(1, 0) - corner(0, 0))
    bottom = corner(0, 1) + u * (corner(1, 1) - corner(0, 1))
    return top + v * (bottom - top)


def make_image(size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.zeros((size, size))
    for octave in range(OCTAVES):
        image += perlin(size, BASE_CELLS * 2**octave, rng) / 2**octave
    return SKY_ADU + BLOB_ADU * image + rng.normal(0, np.sqrt(SKY_ADU), (size, size))


def files_of(image: np.ndarray, base: str, when: dt.datetime) -> list[tuple[str, bytes]]:
    header = fits.Header()
    header["DATE-OBS"] = when.strftime("%Y-%m-%dT%H:%M:%S")
    header["CRVAL1"], header["CRVAL2"], header["EXPTIME"] = 15.0, 5.0, 30.0
    buffer = io.BytesIO()
    fits.PrimaryHDU(image, header).writeto(buffer)
    fits_bz2 = bz2.compress(buffer.getvalue())
    low, high = np.percentile(image, (1, 99))
    shown = Image.fromarray((np.clip((image - low) / (high - low), 0, 1) * 255).astype(np.uint8))
    jpg, thumb = io.BytesIO(), io.BytesIO()
    shown.save(jpg, format="JPEG")
    shown.resize((THUMBNAIL, THUMBNAIL)).save(thumb, format="JPEG")
    return [
        (f"{base}-EX00.txt", str(header).encode("ascii")),
        (f"{base}-EX10.jpg", jpg.getvalue()),
        (f"{base}-EX11.jpg", thumb.getvalue()),
        (f"{base}-EX10.fits.bz2", fits_bz2),
        (f"{base}-EX01.fits.bz2", fits_bz2),
    ]


def send(api_url: str, name: str, data: bytes) -> None:
    answer = httpx.post(f"{api_url}/upload", json={"object_name": name, "s3_directory": "data"}, timeout=TIMEOUT)
    answer.raise_for_status()
    presigned = answer.json()
    posted = httpx.post(presigned["url"], data=presigned["fields"], files={"file": (name, data)}, timeout=TIMEOUT)
    if posted.status_code != httpx.codes.NO_CONTENT:
        raise RuntimeError(f"{name}: {posted.status_code} {posted.text[:200]}")


def run(api_url: str, *, exposures: int, size: int, site: str = "tst", inst: str = "orig",
        first_number: int = 1) -> tuple[float, int]:
    """Make and send `exposures` the original way; (seconds, bytes sent)."""
    started = time.perf_counter()
    sent = 0
    night = dt.datetime.now(dt.UTC)
    for index in range(exposures):
        base = f"{site}-{inst}-{night:%Y%m%d}-{first_number + index:08d}"
        for name, data in files_of(make_image(size, index), base, night):
            send(api_url, name, data)
            sent += len(data)
    return time.perf_counter() - started, sent
