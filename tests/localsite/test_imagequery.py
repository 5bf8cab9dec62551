"""The observe page's filters as a record, and the observing night (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from send_test_images.localsite.imagequery import ImageQuery, night_bounds, parse_image_query


def test_the_forms_values_become_a_typed_query_and_empty_ones_mean_any() -> None:
    query = parse_image_query("tst", {
        "start": "2026-11-20 01:05", "end": "2026-11-20T01:07:30", "filter": "gp", "exposure_min": "1.5",
        "exposure_max": "", "user": " ann ", "filename": "0007", "page": "2",
    })
    assert query == ImageQuery(
        site="tst", start_s=dt.datetime(2026, 11, 20, 1, 5, tzinfo=dt.UTC).timestamp(),
        end_s=dt.datetime(2026, 11, 20, 1, 7, 30, tzinfo=dt.UTC).timestamp(), filter="gp", exposure_min=1.5,
        user="ann", filename="0007", page=2,
    )
    assert query.is_filtered
    assert not parse_image_query("tst", {"page": "3"}).is_filtered


@pytest.mark.parametrize(("params", "message"), [
    ({"start": "yesterday"}, "start 'yesterday' is not a date: use YYYY-MM-DD"),
    ({"exposure_min": "-1"}, "exposure_min '-1' is not allowed: use seconds, a number 0 or more"),
    ({"exposure_max": "nan"}, "exposure_max 'nan' is not allowed"),
    ({"exposure_min": "9", "exposure_max": "2"}, "exposure_min 9 is above exposure_max 2"),
    ({"start": "2026-11-21", "end": "2026-11-20"}, "start '2026-11-21' is after end '2026-11-20'"),
    ({"page": "-1"}, "page '-1' is not allowed: use a whole number from 0 to 10000"),
    ({"page": "10001"}, "page '10001' is not allowed"),
    ({"filtr": "gp"}, "query parameter 'filtr' is not known: use start, end, filter"),
    ({"user": "x" * 200}, "user is 200 characters long: at most 128 are allowed"),
])
def test_a_bad_value_is_refused_naming_it_and_what_is_allowed(params: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        parse_image_query("tst", params)


def test_the_night_runs_from_local_noon_to_local_noon() -> None:
    zone = "America/Los_Angeles"  # UTC-8 in November
    late = dt.datetime(2026, 11, 20, 7, 0, tzinfo=dt.UTC).timestamp()  # 23:00 local on the 19th
    early = dt.datetime(2026, 11, 20, 19, 0, tzinfo=dt.UTC).timestamp()  # 11:00 local on the 20th
    start, end = night_bounds(late, zone)
    assert (start, end) == (dt.datetime(2026, 11, 19, 20, tzinfo=dt.UTC).timestamp(),
                            dt.datetime(2026, 11, 20, 20, tzinfo=dt.UTC).timestamp())
    assert night_bounds(early, zone) == (start, end)
    assert night_bounds(end, zone)[0] == end  # noon itself starts the next night
    assert night_bounds(late, "Not/AZone")[0] == dt.datetime(2026, 11, 19, 12, tzinfo=dt.UTC).timestamp()
