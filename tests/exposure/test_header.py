"""The header as Photon Ranch reads it, and the night and pointing it describes."""

from __future__ import annotations

import datetime as dt
import math

import pytest

import send_test_images
from send_test_images.errors import UsageError
from send_test_images.exposure.observation import (
    airmass_from_altitude,
    make_observation,
    observing_night,
    radec_to_altaz,
)
from send_test_images.exposure.products import make_exposure
from send_test_images.exposure.profiles import get_camera, get_site
from send_test_images.exposure.spec import ExposureSpec
from send_test_images.exposure.synth import FrameSpec

WHEN = dt.datetime(2026, 11, 24, 5, 12, 33, 123456, tzinfo=dt.UTC)


def ingest(text: bytes) -> dict[str, str]:
    """Photon Ranch's reading rule (protocol §3): 80-byte cards, key = first 8 chars stripped;
    the value is between the first pair of quotes if there is a quote, else before `/`."""
    values: dict[str, str] = {}
    decoded = text.decode("ascii")
    for start in range(0, len(decoded), 80):
        card = decoded[start : start + 80]
        key, rest = card[:8].strip(), card[10:]
        if not key or key == "END":
            continue
        value = rest.split("'")[1] if "'" in rest else rest.split("/")[0]
        values[key] = value.strip()
    return values


def spec(**changes: object) -> ExposureSpec:
    fields: dict[str, object] = {
        "site": "tst", "inst": "cam1", "number": 42, "files": "h", "data_type": "EX",
        "camera": get_camera("sq768"), "seed": 11, "date_obs": WHEN,
    }
    fields.update(changes)
    return ExposureSpec(**fields)  # type: ignore[arg-type]


def header_text_of(exposure_spec: ExposureSpec) -> bytes:
    (product,) = make_exposure(exposure_spec).products
    assert str(product.name).endswith("-EX00.txt")
    return product.data


def test_txt_is_80_character_cards_without_newlines_ending_with_end() -> None:
    text = header_text_of(spec())
    assert b"\n" not in text
    assert len(text) % 2880 == 0
    cards = [text[i : i + 80] for i in range(0, len(text), 80)]
    assert any(card.rstrip() == b"END" for card in cards)
    assert cards[-1].strip() in (b"", b"END")


def test_ingestion_reads_back_what_the_site_meant() -> None:
    exposure = make_exposure(
        spec(user_name="Jane Observer", user_id="google-oauth2|1234@x",
             frame=FrameSpec(kind="light", exptime=45.0, filter="R"))
    )
    values = ingest(exposure.products[0].data)
    observation = exposure.observation
    assert values["DATE-OBS"] == "2026-11-24T05:12:33.123"
    assert values["DAY-OBS"] == "20261123"
    assert float(values["CRVAL1"]) == pytest.approx(observation.ra)
    assert float(values["CRVAL2"]) == pytest.approx(observation.dec)
    assert float(values["RAHRS"]) == pytest.approx(observation.ra / 15, abs=1e-6)
    assert values["FILTER"] == "R"
    assert float(values["EXPTIME"]) == 45.0
    assert values["USERNAME"] == "Jane Observer"
    assert values["USERID"] == "googleoauth21234x"
    assert values["SITEID"] == "tst"
    assert values["INSTRUME"] == "cam1"
    assert values["ORIGNAME"] == "tst-cam1-20261123-00000042-EX00.fits"
    assert values["SMARTSTK"] == "no"
    assert int(values["SSTKNUM"]) == 0
    assert int(values["FRAMENUM"]) == 42
    assert float(values["ALTITUDE"]) == pytest.approx(observation.altitude, abs=1e-4)
    assert float(values["AZIMUTH"]) == pytest.approx(observation.azimuth, abs=1e-4)
    assert float(values["AIRMASS"]) == pytest.approx(observation.airmass, abs=1e-4)
    assert values["CTYPE1"] == "RA---TAN"
    assert values["CTYPE2"] == "DEC--TAN"


def test_smartstack_subframe_carries_stack_id_index_and_length() -> None:
    values = ingest(header_text_of(spec(smartstack=("stk0042", 3, 5))))
    assert values["SMARTSTK"] == "stk0042"
    assert int(values["SSTKNUM"]) == 3
    assert int(values["SSTKLEN"]) == 5


@pytest.mark.parametrize(
    ("kind", "imagetyp", "obstype"),
    [("light", "Light Frame", "LIGHT"), ("bias", "Bias Frame", "BIAS"),
     ("dark", "Dark Frame", "DARK"), ("flat", "Flat Field", "SKYFLAT")],
)
def test_frame_type_is_spelled_as_reduction_tools_expect(
    kind: str, imagetyp: str, obstype: str
) -> None:
    values = ingest(header_text_of(spec(frame=FrameSpec(kind=kind, exptime=1.0))))
    assert values["IMAGETYP"] == imagetyp
    assert values["OBSTYPE"] == obstype


def test_bias_header_says_zero_seconds() -> None:
    values = ingest(header_text_of(spec(frame=FrameSpec(kind="bias", exptime=0.0))))
    assert float(values["EXPTIME"]) == 0.0


def test_header_records_version_seed_and_every_synthesis_parameter() -> None:
    exposure = make_exposure(spec(seed=987))
    header = exposure.header
    assert header["PROGVER"] == send_test_images.__version__
    assert header["SEED"] == 987
    # issue 13: provenance is HISTORY cards the service's 80-byte reader takes cleanly, not
    # HIERARCH cards it read as one junk key `HIERARCH`
    history = [str(text) for text in header["HISTORY"]]
    assert "synth frame.seeing_fwhm=2.5" in history
    assert "synth param.seeing_fwhm=2.5" in history
    assert "HIERARCH" not in ingest(make_exposure(spec(seed=987)).products[0].data)


def test_wcs_is_centred_with_east_left_and_the_camera_pixel_scale() -> None:
    camera = get_camera("sq768")
    header = make_exposure(spec()).header
    assert header["CRPIX1"] == (camera.width + 1) / 2
    assert header["CRPIX2"] == (camera.height + 1) / 2
    assert header["CDELT1"] == pytest.approx(-camera.pixel_scale / 3600)
    assert header["CDELT2"] == pytest.approx(camera.pixel_scale / 3600)
    assert header["PIXSCALE"] == camera.pixel_scale


@pytest.mark.parametrize(
    ("site", "utc", "night"),
    [
        # tst, America/Los_Angeles (UTC-8 in November)
        ("tst", dt.datetime(2026, 11, 24, 7, 30), "20261123"),  # 23:30 local, same evening
        ("tst", dt.datetime(2026, 11, 24, 8, 30), "20261123"),  # 00:30 local, after midnight
        ("tst", dt.datetime(2026, 11, 24, 0, 30), "20261123"),  # UTC midnight just passed
        ("tst", dt.datetime(2026, 11, 23, 23, 30), "20261123"),  # 15:30 local, before the night
        ("tst", dt.datetime(2026, 11, 24, 19, 59), "20261123"),  # 11:59 local: still last night
        ("tst", dt.datetime(2026, 11, 24, 20, 0), "20261124"),  # local noon starts a new night
        # eco, Australia/Melbourne (UTC+11 in November), a southern site
        ("eco", dt.datetime(2026, 11, 24, 10, 0), "20261124"),  # 21:00 local
        ("eco", dt.datetime(2026, 11, 24, 13, 30), "20261124"),  # 00:30 local on the 25th
        ("eco", dt.datetime(2026, 11, 24, 23, 30), "20261124"),  # UTC midnight, 10:30 local
        ("eco", dt.datetime(2026, 11, 25, 1, 0), "20261125"),  # 12:00 local on the 25th
    ],
)
def test_day_obs_is_the_local_date_the_night_began(
    site: str, utc: dt.datetime, night: str
) -> None:
    when = utc.replace(tzinfo=dt.UTC)
    assert observing_night(when, get_site(site).timezone) == night
    values = ingest(header_text_of(spec(site=site, date_obs=when)))
    assert values["DAY-OBS"] == night


def test_file_name_uses_the_observing_night_not_the_utc_date() -> None:
    after_midnight = dt.datetime(2026, 11, 24, 8, 30, tzinfo=dt.UTC)
    (product,) = make_exposure(spec(date_obs=after_midnight)).products
    assert product.name.date == "20261123"


@pytest.mark.parametrize("site", ["tst", "eco"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_pointing_is_above_the_horizon_at_that_place_and_time(site: str, seed: int) -> None:
    profile = get_site(site)
    observation = make_observation(WHEN, profile, seed)
    altitude, azimuth = radec_to_altaz(observation.ra, observation.dec, WHEN, profile)
    assert altitude > 0
    assert altitude == pytest.approx(observation.altitude, abs=1e-6)
    assert azimuth == pytest.approx(observation.azimuth, abs=1e-6)


def test_given_pointing_keeps_ra_dec_and_computes_altitude() -> None:
    profile = get_site("tst")
    seen = make_observation(WHEN, profile, 1)
    again = make_observation(WHEN, profile, 99, ra=seen.ra, dec=seen.dec)
    assert again.ra == pytest.approx(seen.ra)
    assert again.altitude == pytest.approx(seen.altitude, abs=1e-6)


def test_pointing_below_the_horizon_is_refused() -> None:
    profile = get_site("tst")
    seen = make_observation(WHEN, profile, 1)
    with pytest.raises(UsageError, match="below the horizon at site tst"):
        make_observation(WHEN, profile, 1, ra=(seen.ra + 180) % 360, dec=-seen.dec)


def test_naive_time_is_refused() -> None:
    with pytest.raises(UsageError, match="has no time zone"):
        make_observation(dt.datetime(2026, 1, 1), get_site("tst"), 1)


def test_airmass_is_sec_z_high_up_and_finite_at_the_horizon() -> None:
    assert airmass_from_altitude(60.0) == pytest.approx(1 / math.sin(math.radians(60)), rel=1e-3)
    assert 30 < airmass_from_altitude(0.0) < 45
