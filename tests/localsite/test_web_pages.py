"""The observe page's routes on a running site: `/` picks a site with data, names are checked."""

from __future__ import annotations

import httpx
import pytest

from send_test_images.localsite import LocalSite

from localsite_fixtures import make_header_text, make_jpg, upload, wait_for

pytestmark = pytest.mark.s3


def test_root_goes_to_a_site_with_data_and_the_page_lists_it(local_site: LocalSite) -> None:
    api, base = local_site.api_url, "obs-inst-20261123-00000001"
    header = make_header_text(DATE_OBS="2030-01-01T00:00:00", CRVAL1=1.0, CRVAL2=2.0)
    upload(api, base + "-EX00.txt", header)
    upload(api, base + "-EX10.jpg", make_jpg())
    wait_for(lambda: any(c["base_filename"] == base for c in
                         httpx.get(f"{api}/site/obs/observe.json").json()["cards"]), "the card")

    root = httpx.get(api + "/")
    assert root.status_code == 307
    assert root.headers["location"] == "/site/obs/observe"  # the newest capture wins
    page = httpx.get(api + "/site/obs/observe")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'href="/site/obs/observe"' in page.text
    assert "/static/observe.js" in page.text
    assert httpx.get(api + "/static/observe.js").status_code == 200
    assert httpx.get(api + "/static/observe.css").status_code == 200


def test_a_site_name_that_could_carry_markup_is_refused(local_site: LocalSite) -> None:
    for path in ("/site/<script>/observe", "/site/<script>/observe.json"):
        refused = httpx.get(local_site.api_url + path)
        assert refused.status_code == 400
        assert refused.headers["content-type"].startswith("text/plain")
        assert refused.text.startswith("site '<script>' is not allowed")


def test_the_pages_json_filters_refuses_bad_values_and_answers_one_image(local_site: LocalSite) -> None:
    api, base = local_site.api_url, "pgs-inst-20261123-00000001"
    header = make_header_text(DATE_OBS="2030-01-02T00:00:00", CRVAL1=1.0, CRVAL2=2.0, FILTER="gp", EXPTIME=5.0,
                              FWHMASEC=2.5, SEPSKY=600.0)
    upload(api, base + "-EX00.txt", header)
    upload(api, base + "-EX10.jpg", make_jpg())
    wait_for(lambda: httpx.get(f"{api}/site/pgs/observe.json").json()["cards"], "the card")

    feed = httpx.get(f"{api}/site/pgs/observe.json", params={"filter": "gp", "exposure_min": "5"}).json()
    assert [c["base_filename"] for c in feed["cards"]] == [base]
    assert (feed["cards"][0]["fwhm_arcsec"], feed["cards"][0]["sky_adu"]) == (2.5, 600.0)
    assert httpx.get(f"{api}/site/pgs/observe.json", params={"filter": "rp"}).json()["cards"] == []
    refused = httpx.get(f"{api}/site/pgs/observe.json", params={"exposure_max": "soon"})
    assert refused.status_code == 400
    assert refused.text == "exposure_max 'soon' is not allowed: use seconds, a number 0 or more"
    assert httpx.get(f"{api}/site/nosuch/observe.json").json()["has_data"] is False

    one = httpx.get(f"{api}/site/pgs/image/{base}.json").json()
    assert one["card"]["base_filename"] == base and one["header"]["FILTER"] == "gp"
    assert httpx.get(f"{api}/site/other/image/{base}.json").status_code == 404  # another site's image
    no_fits = httpx.get(f"{api}/site/pgs/image/{base}/histogram.json")
    assert no_fits.status_code == 404 and no_fits.text.startswith(f"No FITS file stored for {base}")
    off_image = httpx.get(f"{api}/site/pgs/image/{base}/star.json", params={"x": "1.5", "y": "0.5"})
    assert off_image.status_code == 400 and off_image.text.startswith("x '1.5' is not allowed")


def test_a_value_embedded_in_the_page_cannot_end_its_script(local_site: LocalSite) -> None:
    api, base = local_site.api_url, "emb-inst-20261123-00000001"
    evil = "</script><script>window.__owned=1</script>"
    upload(api, base + "-EX00.txt", make_header_text(DATE_OBS="2030-01-03T00:00:00", CRVAL1=1.0, CRVAL2=2.0,
                                                     USERNAME=evil))
    upload(api, base + "-EX10.jpg", make_jpg())
    wait_for(lambda: httpx.get(f"{api}/site/emb/observe.json").json()["cards"], "the card")
    page = httpx.get(f"{api}/site/emb/observe").text
    assert base in page  # the state is embedded ...
    assert "window.__owned" in page and evil not in page  # ... with its markup escaped
