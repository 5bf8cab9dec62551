"""The real sky (issue 16): bright stars where the sky has them, so frames plate-solve.

The solver itself judges in test_platesolve.py (slow); these check, cheaply, what it relies on:
catalogue stars at their true places through the header's WCS, the synthetic population only
fainter than the catalogue, pointings whose fields hold enough stars, and the credit and epoch.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from send_test_images.cli import main
from send_test_images.exposure.cards import card_image, header_block
from send_test_images.exposure.framewcs import frame_wcs, wcs_cards
from send_test_images.exposure.observation import radec_to_altaz
from send_test_images.exposure.products import make_exposure
from send_test_images.exposure.profiles import get_camera, get_site
from send_test_images.exposure.sky import catalogue, pointings
from send_test_images.exposure.sky.colours import filter_magnitude
from send_test_images.exposure.sky.field import catalogue_limit, count_in_frame
from send_test_images.exposure.sky.pointings import MIN_SOLVE_STARS, make_pointing
from send_test_images.exposure.spec import ExposureSpec
from send_test_images.exposure.synth import FrameSpec, make_frame

PLEIADES_NIGHT = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)
"""M45 is high over the test site (Santa Barbara) then."""
ALCYONE = (56.87115, 24.10514)
"""Eta Tauri, the Pleiades' brightest star: J2000 position from SIMBAD, a public fact."""
ALCYONE_GAIA = "Gaia DR3 66714384142368256"


def pleiades(**fields: object) -> ExposureSpec:
    values: dict[str, object] = {"site": "tst", "inst": "cam", "number": 1, "files": "hF", "seed": 5,
                                 "camera": get_camera("sq1k"), "date_obs": PLEIADES_NIGHT,
                                 "ra": 56.75, "dec": 24.117, "truth": True}
    return ExposureSpec(**{**values, **fields})  # type: ignore[arg-type]


def separation_arcsec(ra0: float, dec0: float, ra1: float, dec1: float) -> float:
    d_ra = (ra1 - ra0) * math.cos(math.radians(dec0))
    return 3600.0 * math.hypot(d_ra, dec1 - dec0)


def test_a_bright_star_lands_where_the_sky_has_it_and_is_named_in_the_truth() -> None:
    exposure = make_exposure(pleiades())
    assert exposure.truth is not None
    table = exposure.truth.table
    [row] = table[table["catalog_id"] == ALCYONE_GAIA]
    # the header's WCS puts it within a second of arc of its published place (proper motion since 2000)
    assert separation_arcsec(*ALCYONE, float(row["ra"]), float(row["dec"])) < 1.5
    with fits.open(io.BytesIO(exposure.products[1].data)) as hdul:
        pixels = hdul[1].data
    column, line = round(float(row["x"])), round(float(row["y"]))
    assert pixels[line, column] >= get_camera("sq1k").saturation - 1  # a 2.9 mag star, right there
    assert np.median(pixels) < get_camera("sq1k").bias_level + 500


def test_the_truth_file_names_the_catalogue_stars_and_leaves_synthetic_ones_blank() -> None:
    exposure = make_exposure(pleiades())
    assert exposure.truth is not None
    written = Table.read(exposure.truth.data.decode("utf-8"), format="ascii.ecsv")
    column = written["catalog_id"]  # a synthetic star's empty id reads back masked: no id
    ids = [str(value) for value in (column.filled("") if hasattr(column, "filled") else column)]
    named = [value for value in ids if value]
    assert len(named) == count_in_frame(1024, 1024, 1.6, 56.75, 24.117) >= MIN_SOLVE_STARS
    assert all(value.startswith(("Gaia DR3 ", "HIP ")) for value in named)
    assert len(ids) > 10 * len(named)  # the faint population is still there, unnamed


@pytest.mark.parametrize("site_style", [False, True], ids=["default", "site"])
@pytest.mark.parametrize(("camera", "ra", "dec"),
                         [("sq768", 56.75, 24.117), ("sq4k", 0.0, -89.5), ("sq1k", 123.4, 90.0)])
def test_stars_are_placed_through_exactly_the_wcs_the_header_holds(
    site_style: bool, camera: str, ra: float, dec: float
) -> None:
    # frame_wcs sets the cards' values on a WCS directly (no header parse): it must be, to the
    # bit, the WCS a reader builds from the header's text, or a solver would not find the header's
    profile = get_camera(camera)
    size = (profile.width, profile.height, profile.pixel_scale, ra, dec)
    text = header_block([card_image(*card) for card in wcs_cards(*size, site_style=site_style)])
    from_text = WCS(fits.Header.fromstring(text))
    ra_grid = ra + np.linspace(-0.3, 0.3, 41)
    dec_grid = np.clip(dec + np.linspace(-0.3, 0.3, 41), -90, 90)
    assert np.array_equal(np.array(frame_wcs(*size, site_style=site_style).wcs_world2pix(ra_grid, dec_grid, 0)),
                          np.array(from_text.wcs_world2pix(ra_grid, dec_grid, 0)))


@pytest.mark.parametrize("filter_name", ["L", "R", "B", "Ha"])
def test_synthetic_stars_are_only_fainter_than_the_catalogue_limit(filter_name: str) -> None:
    table = make_exposure(pleiades(frame=FrameSpec(filter=filter_name))).truth.table  # type: ignore[union-attr]
    synthetic = table[table["catalog_id"] == ""]
    assert len(synthetic) > 100
    assert float(np.min(synthetic["mag"])) >= catalogue_limit(filter_name) - 1e-6


def test_stars_synthetic_is_the_old_random_field() -> None:
    spec = pleiades(frame=FrameSpec(stars="synthetic"))
    exposure = make_exposure(spec)
    assert "STARCAT" not in exposure.header
    assert set(exposure.truth.table["catalog_id"]) <= {""}  # type: ignore[union-attr]
    with fits.open(io.BytesIO(exposure.products[1].data)) as hdul:
        pixels = hdul[1].data
    assert np.array_equal(pixels, make_frame(spec.frame, spec.camera, seed=spec.seed).pixels)


def test_a_catalogue_frame_credits_the_catalogue_and_states_its_epoch() -> None:
    header = make_exposure(pleiades(files="h", truth=False)).header
    assert header["STARCAT"] == "Gaia DR3"
    assert header["CATEPOCH"] == 2016.0
    assert "CC BY-SA 3.0 IGO" in header["CATCRED"]
    assert header["CATLIMG"] == 10.0


def test_calibration_frames_have_no_catalogue() -> None:
    header = make_exposure(pleiades(files="h", truth=False, frame=FrameSpec(kind="flat", exptime=3.0))).header
    assert "STARCAT" not in header


@pytest.mark.parametrize("camera", ["sq4k", "qhy600"])
def test_default_pointings_hold_enough_catalogue_stars_to_solve(camera: str) -> None:
    profile, site, frame = get_camera(camera), get_site("tst"), FrameSpec()
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    counts = []
    for seed in range(40):
        when = start + dt.timedelta(days=9 * seed, hours=7 * seed)
        pointing = make_pointing(when, site, seed, profile, frame)
        assert pointing.altitude > 29.0
        counts.append(count_in_frame(profile.width, profile.height, profile.pixel_scale, pointing.ra, pointing.dec))
    assert min(counts) >= MIN_SOLVE_STARS, counts


@pytest.mark.parametrize("camera", ["sq768", "sq1k"])
def test_small_frames_solve_at_every_hour_even_when_none_of_their_targets_is_up(camera: str) -> None:
    """A 25' frame has six targets rich enough to solve, all down for hours of every night;
    it then points at one of the sky's rich fields instead of a blank field that cannot solve."""
    profile, site, frame = get_camera(camera), get_site("tst"), FrameSpec()
    start = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    counts, blank = [], 0
    for hour in range(24):
        for seed in range(3):
            pointing = make_pointing(start + dt.timedelta(hours=hour), site, 100 * hour + seed, profile, frame)
            assert 29.0 < pointing.altitude < 86.0
            blank += pointing.target is None
            counts.append(count_in_frame(profile.width, profile.height, profile.pixel_scale, pointing.ra, pointing.dec))
    assert blank > 0  # the day includes hours when no target is up
    assert min(counts) >= MIN_SOLVE_STARS, counts


def test_rich_fields_of_a_frame_hardly_larger_than_the_pointing_scatter_fit_in_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`make --size 320x200 --pixel-scale 0.9` when no target is up: the sky's cells the size of
    its field less the scatter are a pixel wide, and a count for each would take 93 GB."""
    tiny = pointings.rich_fields.__wrapped__(pointings.FieldRule(320, 200, 0.9))
    assert len(tiny.ra) == len(tiny.dec)
    # counting only the occupied cells finds the very fields a count per cell does
    sq768 = get_camera("sq768")
    rule = pointings.FieldRule(sq768.width, sq768.height, sq768.pixel_scale)
    every_cell = pointings.rich_fields.__wrapped__(rule)
    monkeypatch.setattr(pointings, "MAX_COUNTED_CELLS", 0)
    occupied_only = pointings.rich_fields.__wrapped__(rule)
    assert len(every_cell.ra) > 1000
    assert np.array_equal(every_cell.ra, occupied_only.ra) and np.array_equal(every_cell.dec, occupied_only.dec)


def test_the_field_query_finds_exactly_the_stars_within_the_radius() -> None:
    stars = catalogue.load().stars
    for ra, dec, radius in [(10.0, 20.0, 1.0), (359.9, -5.0, 0.7), (123.0, 89.5, 1.2)]:
        ra0, dec0 = math.radians(ra), math.radians(dec)
        cos_sep = (np.sin(dec0) * np.sin(np.radians(stars.dec))
                   + np.cos(dec0) * np.cos(np.radians(stars.dec)) * np.cos(np.radians(stars.ra) - ra0))
        expected = set(stars.ids[cos_sep >= math.cos(math.radians(radius))].tolist())
        found = catalogue.load().near(ra, dec, radius)
        assert set(found.ids.tolist()) == expected and len(expected) > 0


def test_magnitudes_follow_the_star_colour_through_the_filter() -> None:
    red, blue = 2.0, 0.0
    assert filter_magnitude(9.0, red, "R") < filter_magnitude(9.0, red, "B") - 2.0
    assert abs(filter_magnitude(9.0, blue, "R") - filter_magnitude(9.0, blue, "B")) < 0.1
    assert filter_magnitude(9.0, 0.82, "G") == pytest.approx(9.15, abs=0.02)  # a Sun-like star: V - G
    assert filter_magnitude(9.0, np.nan, "air") == 9.0  # no colour: the typical one; unfiltered = G


def test_make_with_a_named_target_points_there(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["make", "--target", "m45", "--camera", "sq768", "-f", "h", "--truth", "--time",
                 PLEIADES_NIGHT.isoformat(), "--seed", "3", "--out", str(tmp_path)], stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    assert err.getvalue() == ""  # the Pleiades fill a 25' frame: no warning
    [txt] = tmp_path.glob("*.txt")
    header = fits.Header.fromstring(txt.read_text())
    assert header["OBJECT"] == "M45"
    assert separation_arcsec(56.75, 24.117, header["CRVAL1"], header["CRVAL2"]) < 1.0
    [truth] = tmp_path.glob("*-truth.ecsv")
    assert ALCYONE_GAIA in truth.read_text()


def test_a_target_whose_field_will_not_solve_gets_a_warning(tmp_path: Path) -> None:
    when = dt.datetime(2026, 4, 10, 8, 0, tzinfo=dt.UTC)
    assert radec_to_altaz(202.47, 47.195, when, get_site("tst"))[0] > 30  # M51 is up
    out, err = io.StringIO(), io.StringIO()
    code = main(["make", "--target", "M51", "--camera", "sq768", "-f", "h", "--time", when.isoformat(),
                 "--out", str(tmp_path)], stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    [line] = err.getvalue().splitlines()
    assert line.startswith("send-test-images: warning: target M51 holds ")
    assert "will likely not solve" in line


def test_make_with_stars_synthetic_writes_no_catalogue(tmp_path: Path) -> None:
    argv = ["make", "--camera", "sq768", "-f", "h", "--truth", "--time", PLEIADES_NIGHT.isoformat(), "--seed", "3"]
    for stars in ("synthetic", "catalogue"):
        out = tmp_path / stars
        assert main([*argv, "--stars", stars, "--out", str(out)], stdout=io.StringIO(), stderr=io.StringIO()) == 0
        [txt] = out.glob("*.txt")
        header = fits.Header.fromstring(txt.read_text())
        assert ("STARCAT" in header) == (stars == "catalogue")
        [truth] = out.glob("*-truth.ecsv")
        assert ("Gaia DR3 " in truth.read_text()) == (stars == "catalogue")
