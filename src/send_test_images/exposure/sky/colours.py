"""Gaia G and BP-RP -> the magnitude a star has through one of our filters.

Broad bands use the polynomials of Riello et al. 2021 (A&A 649, A3, table C.2) for Johnson-Cousins
V and R and SDSS g, r, i, each m - G as a function of x = BP-RP; B, u and z, which that table
lacks, are a linear colour term on V, g and i (B-V = 0.78 x, u-g = 1.0 + 0.6 x, i-z = 0.2 x - 0.1,
fitted by eye to the main sequence: Vega at x = 0, the Sun at 0.82, an M0 dwarf at 1.85).
Our filters take the nearest band: L (400-700 nm) the mean of V and R; RGB filters R, V, B;
H-alpha and SII the R continuum, OIII the V continuum; `air` (an unfiltered CMOS) Gaia G itself.
That is within ~0.1 mag for ordinary stars, plenty for test frames whose zero points
(synth/sky.py) are themselves only typical.
"""

from __future__ import annotations

import numpy as np

COLOUR_RANGE = (-0.5, 3.0)
"""BP-RP is clipped to where the relations hold; redder stars are rare at G < 10."""
TYPICAL_BP_RP = 1.15
"""The median colour of the catalogue's G < 10 stars: used where Gaia gives none, and to put the
catalogue's G limit into a filter."""

# m - G = sum(c[k] * x**k), x = BP-RP (Riello et al. 2021 table C.2, signs turned to m - G)
_V = (0.02704, -0.01424, 0.2156, -0.01426)
_R = (0.02275, -0.3961, 0.1243, 0.01396, -0.003775)
_SDSS_G = (-0.2199, 0.6365, 0.1548, -0.0064)
_SDSS_R = (0.09837, -0.08592, -0.1907, 0.1701, -0.02263)
_SDSS_I = (0.293, -0.6404, 0.09609, 0.002104)
_B_MINUS_V = (0.0, 0.78)
_U_MINUS_G = (1.0, 0.6)
_Z_MINUS_I = (0.1, -0.2)

BANDS: dict[str, tuple[tuple[float, ...], ...]] = {
    # filter -> the terms added to G (each a polynomial in x); two V/R halves make L their mean
    "L": (tuple(0.5 * c for c in _V), tuple(0.5 * c for c in _R)),
    "R": (_R,), "G": (_V,), "B": (_V, _B_MINUS_V),
    "Ha": (_R,), "OIII": (_V,), "SII": (_R,),
    "up": (_SDSS_G, _U_MINUS_G), "gp": (_SDSS_G,), "rp": (_SDSS_R,), "ip": (_SDSS_I,),
    "zs": (_SDSS_I, _Z_MINUS_I),
    "air": (),
}


def filter_magnitude(g: np.ndarray | float, bp_rp: np.ndarray | float, filter_name: str) -> np.ndarray:
    """The magnitude through `filter_name` of stars with Gaia G and BP-RP (NaN: typical colour)."""
    x = np.asarray(bp_rp, dtype=np.float64)
    x = np.clip(np.where(np.isnan(x), TYPICAL_BP_RP, x), *COLOUR_RANGE)
    mag = np.array(g, dtype=np.float64)
    for coefficients in BANDS[filter_name]:
        mag = mag + np.polynomial.polynomial.polyval(x, coefficients)
    return mag
