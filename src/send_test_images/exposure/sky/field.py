"""The catalogue stars one frame holds: placed through the frame's header WCS, in its filter.

Placing them through the very WCS the header carries (framewcs.py) is the point: a plate solver
that finds those stars recovers the header's solution, centre and scale. Positions are the
catalogue's (epoch J2016.0, no proper motion): a star moves at most a few arcseconds a decade,
under one pixel for all but a handful of nearby stars.
"""

from __future__ import annotations

import math

import numpy as np

from send_test_images.exposure.framewcs import frame_wcs
from send_test_images.exposure.sky import catalogue
from send_test_images.exposure.sky.colours import TYPICAL_BP_RP, filter_magnitude
from send_test_images.exposure.synth.stars import PlacedStars

ARCSEC_PER_DEGREE = 3600.0
EDGE_MARGIN = 0.5
"""Pixels: a star is in the frame when its centre is on a pixel of it (0-based edges at -0.5)."""
MAX_RADIUS = 89.0
"""Degrees: the TAN projection shows less than a hemisphere; a star behind it would land in the
frame mirrored, so a field (even an absurd all-sky `--pixel-scale`) never reaches further."""


def catalogue_limit(filter_name: str) -> float:
    """The catalogue's G limit in `filter_name` for a star of typical colour: synthetic stars are
    drawn only fainter than this, so no magnitude is counted twice."""
    return float(filter_magnitude(catalogue.LIMIT_G, TYPICAL_BP_RP, filter_name))


def place_catalogue(
    width: int, height: int, scale: float, ra: float, dec: float, filter_name: str, *, site_style: bool
) -> PlacedStars:
    """The catalogue stars inside a `width` x `height` frame of `scale` arcsec/px centred on
    (ra, dec), at pixel positions through the header's WCS, with magnitudes in `filter_name`."""
    x, y, found = _in_frame(width, height, scale, ra, dec, site_style=site_style)
    return PlacedStars(
        x=x, y=y, mag=filter_magnitude(found.g, found.bp_rp, filter_name), ids=np.array(found.names(), dtype=str),
        limit=catalogue_limit(filter_name), source=catalogue.NAME,
    )


def count_in_frame(width: int, height: int, scale: float, ra: float, dec: float) -> int:
    """How many catalogue stars a frame centred on (ra, dec) holds.

    The gnomonic projection by hand (the TAN of the header, north up): choosing pointings counts
    many fields, and building an astropy WCS for each would be ten times the cost of the count.
    """
    near = catalogue.load().near(ra, dec, _radius(width, height, scale))
    ra0, dec0 = math.radians(ra), math.radians(dec)
    d_ra, dec1 = np.radians(near.ra) - ra0, np.radians(near.dec)
    cos_c = math.sin(dec0) * np.sin(dec1) + math.cos(dec0) * np.cos(dec1) * np.cos(d_ra)
    xi = np.cos(dec1) * np.sin(d_ra) / cos_c
    eta = (math.cos(dec0) * np.sin(dec1) - math.sin(dec0) * np.cos(dec1) * np.cos(d_ra)) / cos_c
    half_x = math.radians(width * scale / ARCSEC_PER_DEGREE) / 2
    half_y = math.radians(height * scale / ARCSEC_PER_DEGREE) / 2
    return int(np.count_nonzero((np.abs(xi) < half_x) & (np.abs(eta) < half_y)))


def _in_frame(
    width: int, height: int, scale: float, ra: float, dec: float, *, site_style: bool
) -> tuple[np.ndarray, np.ndarray, catalogue.Stars]:
    near = catalogue.load().near(ra, dec, _radius(width, height, scale))
    if not len(near):
        return np.zeros(0), np.zeros(0), near
    x, y = frame_wcs(width, height, scale, ra, dec, site_style=site_style).wcs_world2pix(near.ra, near.dec, 0)
    keep = np.flatnonzero(
        (x >= -EDGE_MARGIN) & (x < width - EDGE_MARGIN) & (y >= -EDGE_MARGIN) & (y < height - EDGE_MARGIN)
    )
    return x[keep], y[keep], near.take(keep)


def _radius(width: int, height: int, scale: float) -> float:
    """Degrees from the centre to just past the frame's corners."""
    return min(MAX_RADIUS, 1.01 * 0.5 * math.hypot(width, height) * scale / ARCSEC_PER_DEGREE)
