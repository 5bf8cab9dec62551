"""Targets a Photon Ranch user really points at, so OBJECT reads like a real observing log.

Sites write OBJECT from the name the observer typed in the web UI (`object_name` in
ptr-observatory's `subprocesses/post_exposure_subprocess.py`) and fall back to a name made of the
coordinates (`13h2ran2d5dec`) only when there is none. A random pointing named that way looked
like no real night's data, so random pointings now go to one of these well-known objects when
one is up (observation.py). Coordinates are J2000 centres (degrees) to ~0.01 degree, enough for a
test image; they are public catalogue facts (Messier, NGC), not anyone's code.
"""

from __future__ import annotations

import math

TARGETS: tuple[tuple[str, float, float], ...] = (
    ("M1", 83.633, 22.014), ("M2", 323.362, -0.823), ("M3", 205.548, 28.377),
    ("M4", 245.897, -26.526), ("M5", 229.638, 2.081), ("M8", 270.904, -24.387),
    ("M11", 282.771, -6.270), ("M13", 250.423, 36.460), ("M15", 322.493, 12.167),
    ("M16", 274.700, -13.817), ("M17", 275.108, -16.177), ("M20", 270.596, -23.030),
    ("M22", 279.100, -23.905), ("M27", 299.901, 22.721), ("M31", 10.685, 41.269),
    ("M33", 23.462, 30.660), ("M35", 92.225, 24.333), ("M42", 83.822, -5.391),
    ("M45", 56.750, 24.117), ("M51", 202.470, 47.195), ("M57", 283.396, 33.029),
    ("M63", 198.955, 42.029), ("M64", 194.182, 21.683), ("M65", 169.733, 13.092),
    ("M74", 24.174, 15.784), ("M77", 40.670, -0.013), ("M81", 148.888, 69.065),
    ("M82", 148.970, 69.680), ("M83", 204.254, -29.866), ("M87", 187.706, 12.391),
    ("M92", 259.281, 43.136), ("M97", 168.699, 55.019), ("M101", 210.802, 54.349),
    ("M104", 189.998, -11.623), ("M106", 184.740, 47.304),
    ("NGC 55", 3.723, -39.197), ("NGC 104", 6.024, -72.081), ("NGC 253", 11.888, -25.288),
    ("NGC 300", 13.723, -37.684), ("NGC 869", 34.750, 57.128), ("NGC 891", 35.639, 42.349),
    ("NGC 1365", 53.402, -36.140), ("NGC 2070", 84.675, -69.101), ("NGC 2244", 97.979, 4.942),
    ("NGC 2392", 112.295, 20.912), ("NGC 2903", 143.042, 21.501), ("NGC 3372", 161.265, -59.868),
    ("NGC 3628", 170.071, 13.590), ("NGC 4565", 189.087, 25.988), ("NGC 4631", 190.533, 32.541),
    ("NGC 5128", 201.365, -43.019), ("NGC 5139", 201.697, -47.479), ("NGC 6543", 269.639, 66.633),
    ("NGC 6946", 308.718, 60.154), ("NGC 7293", 337.411, -20.837), ("NGC 7331", 339.267, 34.416),
    ("NGC 7635", 350.200, 61.202),
)

NAMES = tuple(name for name, _, _ in TARGETS)
RA = tuple(ra for _, ra, _ in TARGETS)
DEC = tuple(dec for _, _, dec in TARGETS)

DEFAULT_NAME_RADIUS = 0.25
"""Degrees: a pointing this close to a catalogued target is called by the target's name."""


def target_near(ra: float, dec: float, radius: float = DEFAULT_NAME_RADIUS) -> str | None:
    """The name of the catalogued target within `radius` degrees of (ra, dec), if any.

    Plain `math` over ~60 targets (tens of microseconds): this module stays free of numpy so the
    command line can check `--target` names without loading it.
    """
    best, best_cos = None, math.cos(math.radians(radius))
    ra1, dec1 = math.radians(ra), math.radians(dec)
    for name, ra0, dec0 in TARGETS:
        ra0, dec0 = math.radians(ra0), math.radians(dec0)
        cos_sep = math.sin(dec0) * math.sin(dec1) + math.cos(dec0) * math.cos(dec1) * math.cos(ra0 - ra1)
        if cos_sep >= best_cos:
            best, best_cos = name, cos_sep
    return best


def find_target(name: str) -> tuple[str, float, float] | None:
    """The target called `name` (any case, spaces optional: `m31`, `NGC253`), or None."""
    wanted = _key(name)
    for target in TARGETS:
        if _key(target[0]) == wanted:
            return target
    return None


def _key(name: str) -> str:
    return "".join(name.split()).upper()
