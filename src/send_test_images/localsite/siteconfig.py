"""A site's configuration as the real config service returns it, made from our profiles (pure).

The real web UI will not mount without `GET /all/config` (LCOGT/ptr_ui `site_config.js`,
`update_config`): it keeps only sites whose `wema_name` is itself a key, reads `name`,
`latitude`/`longitude` and `TZ_database_name` for every site (`all_sites`), the device names from
`defaults`, and camera and filter-wheel settings from the devices under `camera` and
`filter_wheel`. The real service stores one document per site, written by the site's own
software (LCOGT/ptr-observatory `configs/`), and answers them as `{site: configuration}`
(LCOGT/photonranch-api `api/site_configs.py`, `all_config`, `get_config`).

Here a site is its own enclosure (wema), so `wema_name` is the site itself: the UI then opens
one datastream, not two. The location and time zone are the site profile's
(`exposure.profiles.get_site`), the cameras are the instruments the site's file names use, each
with the settings of the camera profile of that name (the default camera's when no profile has
it), and the filter wheel lists that camera's filters.
"""

from __future__ import annotations

from typing import Any

from send_test_images.exposure import profiles

MOUNT = "mount1"
TELESCOPE = "Main OTA"
FILTER_WHEEL = "filter_wheel1"
FOCUSER = "focuser"
ROTATOR = "rotator"
SCREEN = "screen"
SEQUENCER = "sequencer"
ENCLOSURE = "enclosure1"
WEATHER = "observing_conditions1"
"""`enclosure1` and `observing_conditions1` are the names the UI falls back on
(`site_config.js`, `set_default_active_devices`); a real wema config defines them."""
DEVICE_TYPES = ("mount", "telescope", "focuser", "rotator", "screen", "filter_wheel", "camera", "sequencer")
"""Every device list the UI's instrument settings read with `Object.keys` (`Settings.vue`), so
none is undefined."""
SIZE_DIVISOR = 8
"""Binning choices offered: 1x1 and 2x2, as most Photon Ranch cameras offer."""


def camera_config(inst: str) -> dict[str, Any]:
    """One camera device: the profile named `inst`, or the default profile under that name."""
    camera = profiles.CAMERAS.get(inst) or profiles.get_camera()
    return {
        "name": inst,
        "desc": f"simulated {camera.name} ({camera.width}x{camera.height})",
        "camera_size_x": camera.width,
        "camera_size_y": camera.height,
        "settings": {
            "onebyone_pix_scale": camera.pixel_scale,
            "is_cmos": True,
            "has_darkslide": False,
            "bin_modes": [[1, camera.pixel_scale], [2, round(camera.pixel_scale * 2, 3)]],
            "areas_implemented": ["Full"],
            "default_area": "Full",
            "temp_setpoint": camera.temperature,
            "saturate": camera.saturation,
            "read_noise": camera.read_noise,
            "reference_gain": camera.gain,
        },
    }


def filter_wheel_config(inst: str) -> dict[str, Any]:
    """The filter wheel in front of `inst`: its filters as `[name, [slot, 0], ...]` rows."""
    camera = profiles.CAMERAS.get(inst) or profiles.get_camera()
    return {
        "name": FILTER_WHEEL,
        "settings": {
            "filter_data": [[name, [slot, 0], 0, 1.0, [1, 1], name] for slot, name in enumerate(camera.filters)],
            "default_filter": camera.filters[0],
        },
    }


def site_config(site: str, instruments: list[str]) -> dict[str, Any]:
    """The configuration document of `site`, whose images were taken with `instruments`."""
    profile = profiles.get_site(site)
    cameras = instruments or [profiles.DEFAULT_CAMERA]
    return {
        "obs_id": site,
        "wema_name": site,
        "instance_type": "obs",
        "name": profile.name,
        "site": site,
        "latitude": profile.latitude,
        "longitude": profile.longitude,
        "elevation": profile.elevation,
        "TZ_database_name": profile.timezone,
        "time_offset": 0,
        "defaults": {
            "mount": MOUNT,
            "telescope": TELESCOPE,
            "focuser": FOCUSER,
            "rotator": ROTATOR,
            "screen": SCREEN,
            "filter_wheel": FILTER_WHEEL,
            "camera": cameras[0],
            "sequencer": SEQUENCER,
            "enclosure": ENCLOSURE,
            "observing_conditions": WEATHER,
        },
        "device_types": list(DEVICE_TYPES),
        "mount": {MOUNT: {"name": MOUNT, "desc": "simulated mount"}},
        "telescope": {TELESCOPE: {"name": TELESCOPE, "desc": "simulated telescope"}},
        "focuser": {FOCUSER: {"name": FOCUSER, "desc": "simulated focuser"}},
        "rotator": {ROTATOR: {"name": ROTATOR, "desc": "simulated rotator"}},
        "screen": {SCREEN: {"name": SCREEN, "desc": "simulated flat screen"}},
        "enclosure": {ENCLOSURE: {"name": ENCLOSURE, "desc": "simulated enclosure"}},
        "observing_conditions": {WEATHER: {"name": WEATHER, "desc": "simulated weather station"}},
        "filter_wheel": {FILTER_WHEEL: filter_wheel_config(cameras[0])},
        "camera": {inst: camera_config(inst) for inst in cameras},
        "sequencer": {SEQUENCER: {"name": SEQUENCER}},
        "events": {},
    }


def all_configs(instruments_by_site: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """`{site: configuration}` for every site, as `GET /all/config` answers."""
    return {site: site_config(site, insts) for site, insts in sorted(instruments_by_site.items())}
