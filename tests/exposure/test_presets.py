"""`--like ptr-observatory`: the files, sizes, names and header a real site sends (presets.py)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image

from send_test_images.errors import UsageError
from send_test_images.exposure.naming import parse
from send_test_images.exposure.presets import PTR_OBSERVATORY, clock_stack_id, get_preset
from send_test_images.exposure.products import make_products
from send_test_images.exposure.profiles import get_camera, get_site
from send_test_images.exposure.spec import ExposureSpec

WHEN = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)


def site_spec(**changes: object) -> ExposureSpec:
    preset = PTR_OBSERVATORY
    fields: dict[str, object] = {
        "site": "mrc1", "inst": "sq01", "number": 1234, "files": preset.files,
        "data_type": preset.data_type, "date_obs": WHEN, "seed": 4, "preset": preset,
        # the preset's QHY600, cut down so the test stays quick; aspect kept
        "camera": get_camera(preset.camera, width=1596, height=1064),
    }
    fields.update(changes)
    return ExposureSpec(**fields)  # type: ignore[arg-type]


def test_a_light_exposure_is_a_txt_and_a_900_px_jpg_named_as_a_site_names_them() -> None:
    products = make_products(site_spec())
    names = [str(p.name) for p in products]
    assert names == ["mrc1-sq01-20261123-00001234-EX00.txt", "mrc1-sq01-20261123-00001234-EX10.jpg"]
    assert [str(parse(name)) for name in names] == names
    with Image.open(io.BytesIO(products[1].data)) as jpg:
        assert jpg.format == "JPEG" and jpg.mode == "L"
        assert jpg.height == 900 and jpg.width == round(900 * 1596 / 1064)


def test_the_jpg_is_saved_at_pillows_default_quality_as_the_site_saves_it() -> None:
    def first_quantizer(jpg: bytes) -> int:
        with Image.open(io.BytesIO(jpg)) as picture:
            return int(picture.quantization[0][0])  # type: ignore[attr-defined]

    reference = io.BytesIO()
    Image.new("L", (64, 64)).save(reference, format="JPEG")  # Pillow's default, quality 75
    assert first_quantizer(make_products(site_spec(files="j"))[0].data) == first_quantizer(
        reference.getvalue())
    default = make_products(site_spec(files="j", preset=None))[0].data
    assert first_quantizer(default) < first_quantizer(reference.getvalue())  # quality 85


def test_the_preset_record_says_what_a_site_does() -> None:
    preset = get_preset("ptr-observatory")
    assert preset is PTR_OBSERVATORY
    assert (preset.files, preset.data_type, preset.concurrency) == ("hj", "EX", 1)
    assert preset.preview_height == 900 and preset.smartstack_ids == "clock"
    assert get_camera(preset.camera).width == 9576
    with pytest.raises(UsageError, match="preset 'maxim' is not known: use one of ptr-observatory"):
        get_preset("maxim")


def test_smartstack_ids_are_clock_digits_and_siteid_is_the_enclosure() -> None:
    assert clock_stack_id(dt.datetime(2026, 11, 24, 5, 30, 7, tzinfo=dt.UTC)) == "241126053007"
    assert get_site("mrc1").siteid == get_site("mrc2").siteid == "mrc"
    assert get_site("tst").siteid == "tst"
