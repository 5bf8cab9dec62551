"""The TAN WCS a frame's header carries, in one place: the header writes it and catalogue stars
are placed through it (sky/field.py), so a plate solver finds the header's own solution.

The default keeps the exact centre (CRPIX at the middle of the frame, 1-based) with east left and
north up; a real site's rough pre-solve WCS (`site_style`, the `--like ptr-observatory` header)
has CDELT1 positive and CRPIX = NAXIS/2 as ptr-observatory's post_exposure_subprocess.py writes
them, and its stars are placed through that one, so its frames solve to it too.
"""

from __future__ import annotations

from astropy.wcs import WCS

from send_test_images.exposure.cards import format_float

ARCSEC_PER_DEGREE = 3600.0


def wcs_cards(
    width: int, height: int, scale: float, ra: float, dec: float, *, site_style: bool
) -> list[tuple[str, object, str]]:
    """The WCS cards of a `width` x `height` frame of `scale` arcsec/pixel centred on (ra, dec)."""
    if site_style:
        return [
            ("CTYPE1", "RA---TAN", ""),
            ("CTYPE2", "DEC--TAN", ""),
            ("CDELT1", scale / ARCSEC_PER_DEGREE, ""),
            ("CDELT2", scale / ARCSEC_PER_DEGREE, ""),
            ("CRVAL1", ra, ""),
            ("CRVAL2", dec, ""),
            ("CRPIX1", width / 2, ""),
            ("CRPIX2", height / 2, ""),
        ]
    return [
        ("WCSAXES", 2, "Number of WCS axes"),
        ("CTYPE1", "RA---TAN", "Gnomonic projection"),
        ("CTYPE2", "DEC--TAN", "Gnomonic projection"),
        ("CUNIT1", "deg", ""),
        ("CUNIT2", "deg", ""),
        ("CRVAL1", ra, "[deg] RA at the reference pixel"),
        ("CRVAL2", dec, "[deg] Dec at the reference pixel"),
        ("CRPIX1", (width + 1) / 2, "Reference pixel: the frame centre (1-based)"),
        ("CRPIX2", (height + 1) / 2, "Reference pixel: the frame centre (1-based)"),
        ("CDELT1", -scale / ARCSEC_PER_DEGREE, "[deg/pixel] RA increases to the left"),
        ("CDELT2", scale / ARCSEC_PER_DEGREE, "[deg/pixel] north is up"),
    ]


WCS_ATTRIBUTES = {"CTYPE": "ctype", "CRVAL": "crval", "CRPIX": "crpix", "CDELT": "cdelt", "CUNIT": "cunit"}
"""Card name (less its axis number) -> the astropy Wcsprm attribute it sets."""


def frame_wcs(width: int, height: int, scale: float, ra: float, dec: float, *, site_style: bool) -> WCS:
    """The astropy WCS of exactly those cards (ICRS, as the header's RADESYS says).

    The cards' values are set on a fresh WCS directly, not read from a header: astropy's
    header parsing was 0.8 ms of every catalogue frame. Each number first goes through its
    card's text (cards.py), so the WCS is the one a reader of the header gets, to the bit.
    """
    values: dict[str, list[object]] = {}
    for key, value, _ in wcs_cards(width, height, scale, ra, dec, site_style=site_style):
        if key[:-1] in WCS_ATTRIBUTES:
            values.setdefault(WCS_ATTRIBUTES[key[:-1]], []).append(
                float(format_float(value)) if isinstance(value, float) else value
            )
    wcs = WCS(naxis=2)
    for attribute, pair in values.items():
        setattr(wcs.wcs, attribute, pair)
    wcs.wcs.radesys = "ICRS"
    wcs.wcs.set()
    return wcs
