"""The issue's quality bar, on the files exactly as a pipeline would download them.

An independent extractor (sep) runs on the decompressed large FITS of a default light exposure;
its detections must recover the injected stars, and the header's WCS must put them on the sky
where the truth catalogue says they are.
"""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import sep
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from send_test_images.exposure.products import make_exposure
from send_test_images.exposure.spec import ExposureSpec

MATCH_RADIUS = 0.5  # pixels
WHEN = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)


def detect(pixels: np.ndarray) -> np.ndarray:
    data = pixels.astype(np.float64)
    background = sep.Background(data)
    data -= background.back()
    sep.set_extract_pixstack(2_000_000)
    sep.set_sub_object_limit(4096)
    return sep.extract(data, 5.0, err=background.globalrms, minarea=5)


def test_a_default_light_frame_yields_its_stars_and_their_sky_positions() -> None:
    exposure = make_exposure(ExposureSpec(site="tst", inst="inst", number=1, files="hF", date_obs=WHEN,
                                          seed=2026, truth=True))
    large = next(p for p in exposure.products if p.name.ext == "fits.fz")
    with fits.open(io.BytesIO(large.data)) as hdul:
        pixels = hdul[1].data
        wcs = WCS(hdul[1].header)
    assert pixels.shape == (4096, 4096)  # the default camera
    assert exposure.truth is not None
    truth = Table.read(exposure.truth.data.decode(), format="ascii.ecsv")
    strong = truth[(truth["snr"] > 20) & ~truth["saturated"]]
    assert len(strong) > 500

    found = detect(pixels)
    grid = {}
    for i, (x, y) in enumerate(zip(found["x"], found["y"], strict=True)):
        grid.setdefault((int(x), int(y)), []).append(i)
    matched_truth, matched_found = [], []
    for t, (x, y) in enumerate(zip(strong["x"], strong["y"], strict=True)):
        near = [i for dx in (-1, 0, 1) for dy in (-1, 0, 1) for i in grid.get((int(x) + dx, int(y) + dy), [])]
        if near:
            best = min(near, key=lambda i: np.hypot(found["x"][i] - x, found["y"][i] - y))
            if np.hypot(found["x"][best] - x, found["y"][best] - y) < MATCH_RADIUS:
                matched_truth.append(t)
                matched_found.append(best)
    assert len(matched_truth) / len(strong) >= 0.9

    # Detections, through the header WCS, land on the catalogue's sky positions.
    det = found[matched_found]
    ra, dec = wcs.all_pix2world(det["x"], det["y"], 0)
    cat = strong[matched_truth]
    scale_deg = pixel_scale_deg(wcs)
    off_ra = (ra - cat["ra"] + 180) % 360 - 180
    separation = np.hypot(off_ra * np.cos(np.radians(cat["dec"])), dec - cat["dec"])
    assert np.median(separation) < 0.1 * scale_deg
    assert np.all(separation < MATCH_RADIUS * scale_deg * 1.01)


def pixel_scale_deg(wcs: WCS) -> float:
    return float(np.sqrt(abs(np.linalg.det(wcs.pixel_scale_matrix))))
