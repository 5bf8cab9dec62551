"""Cameras and sites: the physical facts a frame and its header must agree with.

A frame's pixel statistics (gain, read noise, saturation) and its header (pixel scale, sensor
size, site coordinates, time zone) come from the same two records, so nothing in the header can
contradict the pixels. Users pick a profile by name and override single fields.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from send_test_images import defaults
from send_test_images.errors import UsageError


@dataclass(frozen=True)
class CameraProfile:
    """One camera. Units: pixels, arcsec/pixel, electrons, ADU, seconds, Celsius."""

    name: str
    width: int
    height: int
    pixel_scale: float  # arcsec per pixel
    gain: float  # electrons per ADU
    read_noise: float  # electrons RMS
    bias_level: int  # ADU pedestal
    dark_current: float  # electrons / pixel / second at set temperature
    full_well: float  # electrons; bias + full_well / gain reaches `saturation`
    saturation: int  # ADU where the camera clips (<= 65535)
    filters: tuple[str, ...]
    temperature: float = -10.0
    small_size: int = 768  # long side of the binned "small" FITS and the 10.jpg preview
    # What the header says about the hardware (CAMNAME, DETECTOR, CAMMANUF, CCDXPIXE, FOCAL):
    model: str = "Generic cooled CMOS"
    detector: str = "CMOS"
    manufacturer: str = "Generic"
    pixel_size: float = 3.76  # um
    f_ratio: float = 7.0  # focal length / aperture; with pixel_size and pixel_scale, the optics


@dataclass(frozen=True)
class SiteProfile:
    """One observatory. Latitude/longitude in degrees (east positive), elevation in metres."""

    code: str
    name: str
    latitude: float
    longitude: float
    elevation: float
    timezone: str  # IANA name; the observing night is dated in this zone
    wema: str = ""  # the enclosure (WEMA) code sites write as SITEID; "" = the site code itself

    @property
    def siteid(self) -> str:
        """SITEID as a real site writes it: its enclosure's code, which several telescopes
        (each with its own file-name site code, e.g. mrc1 and mrc2) share."""
        return self.wema or self.code


CAMERAS: dict[str, CameraProfile] = {
    camera.name: camera
    for camera in (
        # A cooled back-illuminated CMOS like many Photon Ranch sites run, cropped square.
        CameraProfile(
            name="sq4k", width=4096, height=4096, pixel_scale=0.74, gain=0.85, read_noise=3.2,
            bias_level=1000, dark_current=0.005, full_well=51000.0, saturation=60000,
            filters=("L", "R", "G", "B", "Ha", "OIII", "SII", "up", "gp", "rp", "ip", "zs", "air"),
        ),
        # A small sensor for quick runs and load tests.
        CameraProfile(
            name="sq1k", width=1024, height=1024, pixel_scale=1.6, gain=0.8, read_noise=5.0,
            bias_level=800, dark_current=0.02, full_well=40000.0, saturation=50000,
            filters=("L", "R", "G", "B", "Ha", "air"),
        ),
        # The size of the original script's frames.
        CameraProfile(
            name="sq768", width=768, height=768, pixel_scale=2.0, gain=0.6, read_noise=6.0,
            bias_level=500, dark_current=0.03, full_well=30000.0, saturation=45000,
            filters=("L", "R", "G", "B", "air"),
        ),
        # The QHY600M that many Photon Ranch sites run (9576 x 6388, 3.76 um pixels) behind a
        # ~1.5 m focal length: what the ptr-observatory preset draws (presets.py).
        CameraProfile(
            name="qhy600", width=9576, height=6388, pixel_scale=0.51, gain=0.78, read_noise=3.5,
            bias_level=1000, dark_current=0.003, full_well=51000.0, saturation=62000,
            filters=("L", "R", "G", "B", "Ha", "OIII", "SII", "up", "gp", "rp", "ip", "zs", "air"),
            small_size=900, model="QHY600M", detector="Sony IMX455", manufacturer="QHYCCD",
        ),
    )
}

SITES: dict[str, SiteProfile] = {
    site.code: site
    for site in (
        SiteProfile("tst", "Photon Ranch test site (Santa Barbara)", 34.4339, -119.8636, 10.0,
                    "America/Los_Angeles"),
        SiteProfile("mrc", "Mountain Ranch Camp", 34.4592, -119.6812, 290.0,
                    "America/Los_Angeles"),
        SiteProfile("sro", "Sierra Remote Observatories", 37.0703, -119.4128, 1405.0,
                    "America/Los_Angeles"),
        SiteProfile("eco", "Eltham College Observatory", -37.7097, 145.1477, 120.0,
                    "Australia/Melbourne"),
        # Two telescopes in one enclosure: file names say mrc1/mrc2, SITEID says mrc.
        SiteProfile("mrc1", "Mountain Ranch Camp, telescope 1", 34.4592, -119.6812, 290.0,
                    "America/Los_Angeles", wema="mrc"),
        SiteProfile("mrc2", "Mountain Ranch Camp, telescope 2", 34.4592, -119.6812, 290.0,
                    "America/Los_Angeles", wema="mrc"),
    )
}

DEFAULT_CAMERA = defaults.CAMERA
DEFAULT_SITE = defaults.SITE


def get_camera(name: str = DEFAULT_CAMERA, **overrides: object) -> CameraProfile:
    """A named camera, with some fields replaced (e.g. `width=2048`)."""
    if name not in CAMERAS:
        raise UsageError(f"camera {name!r} is not known: use one of {', '.join(CAMERAS)}")
    return _override(CAMERAS[name], overrides, "camera")


def get_site(code: str, **overrides: object) -> SiteProfile:
    """The profile for a site code; an unknown code gets the test site's location, renamed."""
    base = SITES.get(code) or replace(SITES[DEFAULT_SITE], code=code, name=f"site {code}")
    return _override(base, overrides, "site")


def _override(profile, overrides: dict[str, object], what: str):  # type: ignore[no-untyped-def]
    allowed = {f.name for f in fields(profile)}
    unknown = sorted(set(overrides) - allowed)
    if unknown:
        raise UsageError(
            f"{what} field {unknown[0]!r} is not known: use one of {', '.join(sorted(allowed))}"
        )
    return replace(profile, **{k: v for k, v in overrides.items() if v is not None})
