"""Our `.txt` and FITS headers against the keywords a real ptr-observatory site writes
(realsite_keywords.py, sources per keyword), read the way the real service reads them."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from astropy.io import fits
from realsite_keywords import KEYWORDS, NOT_WRITTEN

from send_test_images.exposure.presets import PTR_OBSERVATORY, clock_stack_id
from send_test_images.exposure.products import make_exposure
from send_test_images.exposure.profiles import get_camera
from send_test_images.exposure.spec import ExposureSpec
from send_test_images.exposure.synth import FrameSpec

WHEN = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)
DOC = Path(__file__).resolve().parents[2] / "docs" / "real-site-headers.md"


def service_read(text: bytes) -> dict[str, str]:
    """LCOGT/ptr_data `lambda_service/helpers.py` `scan_header_file`, re-implemented: 80-byte
    slices; key = first 8 characters stripped; the rest from column 11 minus the last
    character; if its part before the first `/` holds a quote, the value is the text between
    the first pair of quotes, else the text before the first `/`; stop at END."""
    values: dict[str, str] = {}
    for start in range(0, len(text), 80):
        line = text[start : start + 80].decode("utf8")
        key, after = line[:8].strip(), line[10:-1]
        quoted = "'" in after.split("/")[0]
        values[key] = after.split("'")[1].strip() if quoted else after.split("/")[0].strip()
        if key == "END":
            break
    return values


def parses_as(value: str, kind: str) -> bool:
    try:
        if kind == "int":
            int(value)
        elif kind == "float":
            float(value)
        elif kind == "bool":
            return value in ("T", "F")
    except ValueError:
        return False
    return True


def spec(**changes: object) -> ExposureSpec:
    fields: dict[str, object] = {
        "site": "mrc1", "inst": "sq01", "number": 42, "files": "hfF", "date_obs": WHEN, "data_type": "EX",
        "camera": get_camera("sq1k"), "seed": 8,
    }
    fields.update(changes)
    return ExposureSpec(**fields)  # type: ignore[arg-type]


CASES = {
    "default light": {},
    "site light": {"preset": PTR_OBSERVATORY},
    "site QHY600 light": {"preset": PTR_OBSERVATORY,
                          "camera": get_camera("qhy600", width=1200, height=800)},
    "site smartstack frame": {"preset": PTR_OBSERVATORY, "smartstack": ("241126053000", 2, 5)},
    "site flat": {"preset": PTR_OBSERVATORY, "frame": FrameSpec(kind="flat", exptime=2.0)},
    "default bias": {"frame": FrameSpec(kind="bias", exptime=0.0)},
}


def expected_keywords(exposure_spec: ExposureSpec) -> list[tuple[str, str]]:
    out = []
    for key, kind, _source, _readers, when in KEYWORDS:
        if when == "QHY camera driven directly" and exposure_spec.camera.manufacturer != "QHYCCD":
            continue
        if when == "smartstack sub-frame" and exposure_spec.smartstack is None:
            continue
        out.append((key, kind))
    return out


def all_headers(exposure_spec: ExposureSpec) -> dict[str, bytes]:
    """The .txt as sent, and the headers of the small and large FITS as a pipeline reads them."""
    exposure = make_exposure(exposure_spec)
    out = {}
    for product in exposure.products:
        if product.name.ext == "txt":
            out["txt"] = product.data
        else:
            with fits.open(io.BytesIO(product.data)) as hdul:
                out[f"{product.name.level} fits"] = hdul[1].header.tostring().encode("ascii")
    return out


@pytest.mark.parametrize("case", CASES)
def test_every_keyword_the_site_writes_is_there_and_parses_to_its_type(case: str) -> None:
    exposure_spec = spec(**CASES[case])
    for where, text in all_headers(exposure_spec).items():
        values = service_read(text)
        missing = [key for key, _ in expected_keywords(exposure_spec) if key not in values]
        assert not missing, f"{case} {where}: missing {missing}"
        wrong = [(key, values[key]) for key, kind in expected_keywords(exposure_spec)
                 if not parses_as(values[key], kind)]
        assert not wrong, f"{case} {where}: {wrong}"
        # about the ~175 keywords of a real header, and no junk key from HIERARCH cards
        keys = [key for key in values if key not in ("", "END", "HISTORY")]
        assert 165 <= len(keys) <= 200, f"{case} {where}: {len(keys)} keywords"
        assert "HIERARCH" not in values


def test_what_ingestion_and_the_ui_read_is_right_not_only_present() -> None:
    exposure = make_exposure(spec(preset=PTR_OBSERVATORY, files="h",
                                  smartstack=(clock_stack_id(WHEN), 2, 5),
                                  user_id="google-oauth2|1234@x"))
    values = service_read(exposure.products[0].data)
    observation = exposure.observation
    assert values["DATE-OBS"] == "2026-11-24T06:00:00.000"
    assert float(values["CRVAL1"]) == pytest.approx(observation.ra)
    assert float(values["CRVAL2"]) == pytest.approx(observation.dec)
    assert values["SMARTSTK"] == "241126060000" and values["SMARTSTK"].isdigit()
    assert values["SSTKNUM"] == "2"
    assert values["SSTKLEN"] == "5.0"  # the site writes np.ceil(...), a float
    assert values["USERID"] == "googleoauth21234atx"  # the site spells @ as 'at'
    assert 1.0 < float(values["FWHMASEC"]) < 6.0 and int(float(values["SEPSKY"])) > 0


def test_the_site_spells_and_values_keywords_its_own_way() -> None:
    values = service_read(make_exposure(spec(preset=PTR_OBSERVATORY, files="h")).products[0].data)
    assert values["IMAGETYP"] == values["OBSTYPE"] == "EXPOSE"
    assert values["SITEID"] == "mrc"  # the enclosure (wema), not the file name's mrc1
    assert values["TELID"] == values["OBSID"] == values["PTRTEL"] == "mrc1"
    assert values["ORIGNAME"] == "mrc1-sq01_expose_L-20261123-00000042-EX00.fits.fz"
    assert re.fullmatch(r"\d\dh\d\dm[\d.]+s", values["RA"])
    assert re.fullmatch(r"[+-]\d\dd\d\dm[\d.]+s", values["DEC"])
    for ours in ("XBINNING", "CCD-TEMP", "OBSERVAT"):
        assert ours not in values
    assert values["OBJECT"] == values["CATNAME"]
    assert not re.fullmatch(r"\d+h\d+ra.*dec", values["OBJECT"])


def test_the_default_header_keeps_its_earlier_keywords_beside_the_sites() -> None:
    values = service_read(make_exposure(spec(files="h")).products[0].data)
    assert values["IMAGETYP"] == "Light Frame" and values["SITEID"] == "mrc1"
    assert values["XBINNING"] == values["XBINING"] == "1"
    assert values["CCD-TEMP"] == values["CCDATEMP"]


def test_the_small_fits_says_it_is_binned_in_both_spellings() -> None:
    headers = all_headers(spec(files="f", preset=PTR_OBSERVATORY))
    values = service_read(headers["10 fits"])
    assert int(values["XBINING"]) == int(values["YBINING"]) == 2
    assert float(values["PIXSCALE"]) == pytest.approx(2 * 1.6)
    # the full frame's header is the .txt (under the preset its large FITS goes to the archive)
    large = service_read(make_exposure(spec(files="hF", preset=PTR_OBSERVATORY)).products[0].data)
    assert float(values["FWHMPIX"]) == pytest.approx(float(large["FWHMPIX"]) / 2, abs=1e-4)
    assert values["FWHMASEC"] == large["FWHMASEC"]


def test_the_doc_table_lists_every_keyword_with_its_source() -> None:
    doc = DOC.read_text()
    for key, _kind, source, _readers, _when in KEYWORDS:
        assert re.search(rf"^\| `{re.escape(key)}` \|.*{re.escape(source.split(',')[0])}", doc, re.M), key
    for key in NOT_WRITTEN:
        assert f"`{key}`" in doc
