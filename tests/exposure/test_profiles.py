"""Camera and site profiles: the header and the pixels both come from them, so they must agree."""

from __future__ import annotations

import pytest

from send_test_images.errors import UsageError
from send_test_images.exposure.profiles import CAMERAS, get_camera, get_site


@pytest.mark.parametrize("name", sorted(CAMERAS))
def test_a_full_well_reaches_saturation_without_overflowing_16_bits(name: str) -> None:
    camera = CAMERAS[name]
    assert camera.bias_level + camera.full_well / camera.gain >= camera.saturation
    assert camera.saturation <= 65535


def test_fields_can_be_overridden_and_unknown_ones_are_named() -> None:
    assert get_camera("sq1k", width=512).width == 512
    with pytest.raises(UsageError, match="camera field 'colour' is not known"):
        get_camera("sq1k", colour="red")
    with pytest.raises(UsageError, match="camera 'big' is not known: use one of sq4k, sq1k, sq768"):
        get_camera("big")


def test_an_unknown_site_gets_the_test_site_location_under_its_own_code() -> None:
    site = get_site("abc")
    assert site.code == "abc"
    assert (site.latitude, site.longitude) == (get_site("tst").latitude, get_site("tst").longitude)
