"""A header sent alone (`-f h`) draws no pixels, says its pixel values are predicted, predicts
them close to what the pixels give, and still remakes the frame (issue 17, item 3)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import tracemalloc

import numpy as np
import pytest
from astropy.io import fits

from send_test_images.exposure.presets import PTR_OBSERVATORY
from send_test_images.exposure.products import draw_frame, make_exposure, make_products
from send_test_images.exposure.profiles import get_camera
from send_test_images.exposure.provenance import exposure_spec_from_header
from send_test_images.exposure.sky import catalogue
from send_test_images.exposure.spec import ExposureSpec
from send_test_images.exposure.synth import FrameSpec, make_frame, sketch_frame

WHEN = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)
PIXEL_CARDS = ("IMGMIN", "IMGMAX", "IMGMEAN", "IMGMED", "IMGMODE", "IMGMAD", "IMGSTDEV", "SEPSKY",
               "FWHM", "FWHMPIX", "FWHMASEC", "FWHMSTD", "NSTARS", "MEASURED")


def spec(files: str, camera: str = "sq768", **frame: object) -> ExposureSpec:
    return ExposureSpec(site="tst", inst="cam", number=7, files=files, seed=11, date_obs=WHEN,
                        camera=get_camera(camera), frame=FrameSpec(**frame))  # type: ignore[arg-type]


def cards(text: bytes) -> list[str]:
    return [text[i:i + 80].decode() for i in range(0, len(text), 80)]


def test_a_header_alone_draws_no_frame() -> None:
    """A qhy600 frame is 61 Mpx (122 MB as uint16, twice that while drawn); its header alone
    allocates a small fraction of one frame (the star catalogue, read once per process, is read
    before counting)."""
    catalogue.load()
    tracemalloc.start()
    try:
        exposure = make_exposure(spec("h", camera="qhy600"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [p.name.ext for p in exposure.products] == ["txt"]
    assert peak < 20_000_000
    assert exposure.header["MEASURED"] == "predicted"


def test_the_truth_file_still_draws_the_frame() -> None:
    """The truth catalogue's peaks and SNRs are read off the rendered stars."""
    exposure = make_exposure(dataclasses.replace(spec("h"), truth=True))
    assert exposure.truth is not None
    assert exposure.header["MEASURED"] == "pixels"


@pytest.mark.parametrize("frame", [{}, {"seeing_fwhm": 4.0, "exptime": 120.0}, {"kind": "flat"},
                                   {"kind": "bias"}, {"kind": "dark"}])
@pytest.mark.parametrize("camera", ["sq768", "sq4k"])
def test_predicted_values_are_close_to_what_the_pixels_give(camera: str, frame: dict[str, object]) -> None:
    # Synthetic stars: the prediction knows each star's peak, not how many pixels a bright catalogue
    # star's halo and bleed saturate, and sq768's default pointings are dense clusters whose
    # saturated pixels outnumber any one sky value (IMGMODE is then the saturation level).
    frame = {"stars": "synthetic", **frame}
    measured = make_exposure(spec("hF", camera, **frame)).header
    predicted = make_exposure(spec("h", camera, **frame)).header
    assert measured["MEASURED"] == "pixels" and predicted["MEASURED"] == "predicted"
    sigma = measured["IMGMAD"] * 1.4826
    for key in ("IMGMED", "IMGMODE", "IMGMEAN", "SEPSKY"):
        # the sky or flat level, to 2% or within the noise
        assert abs(predicted[key] - measured[key]) <= max(0.02 * measured["SEPSKY"], sigma, 2), key
    assert predicted["IMGMAD"] == pytest.approx(measured["IMGMAD"], rel=0.2, abs=1)
    assert predicted["IMGMIN"] == pytest.approx(measured["IMGMIN"], rel=0.08)
    assert predicted["IMGSTDEV"] == pytest.approx(measured["IMGSTDEV"], rel=0.35)
    if measured["NSTARS"]:
        assert predicted["NSTARS"] == pytest.approx(measured["NSTARS"], rel=0.05)
        assert predicted["FWHMASEC"] == pytest.approx(measured["FWHMASEC"], rel=0.05)
        assert predicted["IMGMAX"] == measured["IMGMAX"] == get_camera(camera).saturation
    else:
        assert predicted["FWHM"] == measured["FWHM"] == -99


def test_a_header_alone_differs_from_the_full_one_only_in_what_pixels_decide() -> None:
    full = make_exposure(spec("hF", cosmic_rays=True)).products[0].data
    alone = make_exposure(spec("h", cosmic_rays=True)).products[0].data
    only_full, only_alone = set(cards(full)) - set(cards(alone)), set(cards(alone)) - set(cards(full))
    assert {card[:8].strip() for card in only_alone} <= {*PIXEL_CARDS, "HISTORY"}
    assert {card[:8].strip() for card in only_full} <= {*PIXEL_CARDS, "HISTORY"}
    # HISTORY: the files asked for, and the counts only pixels can give (bleed, cosmic rays, ...)
    assert {card for card in only_alone if card.startswith("HISTORY")} == {
        f"{'HISTORY synth spec.files=h':<80}"}


def test_the_stars_of_a_sketch_are_the_frames_own() -> None:
    camera = get_camera("sq1k")
    drawn = make_frame(FrameSpec(field_seed=5), camera, seed=3).truth
    sketched = sketch_frame(FrameSpec(field_seed=5), camera, seed=3).truth
    assert len(sketched) == len(drawn) > 100
    assert np.array_equal(sketched["x"], drawn["x"]) and np.array_equal(sketched["flux"], drawn["flux"])
    # the peak from the PSF alone, without the optics' fall-off: within a few percent
    assert np.median(sketched["peak"] / drawn["peak"]) == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("preset", [None, PTR_OBSERVATORY])
def test_a_header_sent_alone_remakes_itself_and_its_frames_pixels(preset: object) -> None:
    alone = dataclasses.replace(spec("h", exptime=45.0, satellite=True), preset=preset)
    txt = make_products(alone)[0]
    remade = exposure_spec_from_header(txt.data)
    assert make_products(remade)[0].data == txt.data  # the .txt again, byte for byte
    full = make_products(dataclasses.replace(alone, files="hjtfF"))
    again = make_products(dataclasses.replace(remade, files="hjtfF"))
    assert [p.data for p in again if p.name.ext != "txt"] == [p.data for p in full if p.name.ext != "txt"]
    small = next(p for p in again if p.name.level == "10" and p.name.kind == "fits")  # sq768: not binned
    with fits.open(io.BytesIO(small.data)) as hdul:
        assert np.array_equal(hdul[1].data, draw_frame(alone)[0].pixels)
