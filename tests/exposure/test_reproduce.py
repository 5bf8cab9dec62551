"""Any sent file's header alone remakes its frame: same pixels, same bytes (issue 13).

`make --seed <header SEED>` drew other pixels, because SEED was the frame's seed and `--seed`
the run's; now the header carries the whole recipe (provenance.py) and
`exposure_spec_from_header` turns it back into the spec, which `make --from-header` runs.
"""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pytest
from astropy.io import fits

from send_test_images.errors import UsageError
from send_test_images.exposure.plan import BatchOptions, plan
from send_test_images.exposure.presets import PTR_OBSERVATORY
from send_test_images.exposure.products import draw_frame, make_exposure, make_products
from send_test_images.exposure.profiles import get_camera
from send_test_images.exposure.provenance import exposure_spec_from_header
from send_test_images.exposure.spec import ExposureSpec
from send_test_images.exposure.synth import FrameSpec, make_frame

WHEN = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)


def planned(**options: object) -> list[ExposureSpec]:
    """Specs exactly as a run plans them (run seed -> per-frame seeds, smartstack fields)."""
    batch = BatchOptions(camera="sq768", files="hjfF", time=WHEN, **options)  # type: ignore[arg-type]
    return plan(batch, range(101, 101 + batch.count), seed=987654321)


def large_pixels(products: list) -> np.ndarray:  # type: ignore[type-arg]
    large = next(p for p in products if p.name.level == "00" and p.name.kind == "fits")
    with fits.open(io.BytesIO(large.data)) as hdul:
        return hdul[1].data.copy()


CASES = {
    "light": lambda: planned()[0],
    "synthetic light": lambda: planned(stars="synthetic")[0],
    "flat": lambda: planned(frame="flat", exptime=3.0)[0],
    "smartstack frame": lambda: planned(smartstack=3)[2],
    "site light, odd size": lambda: ExposureSpec(
        site="mrc1", inst="sq01", number=5, files="hjfF", date_obs=WHEN, seed=31,
        camera=get_camera("qhy600", width=640, height=480, gain=1.1), preset=PTR_OBSERVATORY,
        frame=FrameSpec(filter="Ha", exptime=120.0, seeing_fwhm=3.1, cosmic_rays=True),
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_the_txt_alone_remakes_byte_identical_files(case: str) -> None:
    spec = CASES[case]()
    sent = make_products(spec)
    txt = next(p for p in sent if p.name.ext == "txt")
    remade_spec = exposure_spec_from_header(txt.data)
    assert remade_spec == spec
    remade = make_products(remade_spec)
    assert [p.name for p in remade] == [p.name for p in sent]
    assert [p.data for p in remade] == [p.data for p in sent]


@pytest.mark.parametrize("case", ["light", "synthetic light", "smartstack frame"])
def test_a_downloaded_fits_header_remakes_the_same_pixels(case: str) -> None:
    spec = CASES[case]()
    sent = make_products(spec)
    for product in sent:
        if product.name.kind != "fits":
            continue
        with fits.open(io.BytesIO(product.data)) as hdul:
            header = hdul[1].header
        remade = exposure_spec_from_header(header)
        assert np.array_equal(draw_frame(remade)[0].pixels, large_pixels(sent))


def test_seed_and_field_seed_cards_are_the_frames_own() -> None:
    spec = planned(smartstack=3, stars="synthetic")[1]
    header = make_exposure(spec).header
    assert header["SEED"] == spec.seed
    assert header["FIELDSD"] == spec.frame.field_seed
    again = make_frame(FrameSpec(field_seed=header["FIELDSD"], stars="synthetic"), get_camera("sq768"),
                       seed=header["SEED"])
    assert np.array_equal(again.pixels, large_pixels(make_products(spec)))


def test_a_header_from_before_catalogue_stars_remakes_its_synthetic_stars() -> None:
    spec = planned(stars="synthetic")[0]
    sent = make_products(spec)
    txt = next(p for p in sent if p.name.ext == "txt").data.decode("ascii")
    line = "HISTORY synth frame.stars=synthetic".ljust(80)
    assert line in txt
    old = txt.replace(line, "")  # as written before the recipe had `frame.stars`
    remade = make_products(exposure_spec_from_header(old + " " * 80))
    assert np.array_equal(large_pixels(remade), large_pixels(sent))


def test_a_header_without_the_recipe_is_refused_with_what_to_do() -> None:
    header = fits.Header([("SIMPLE", True), ("SEED", 3)])
    with pytest.raises(UsageError, match=r"has no 'HISTORY synth' cards: .* use `make --seed`"):
        exposure_spec_from_header(header)
