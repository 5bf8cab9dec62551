"""Which images does the observe page ask for? Its filters as a typed record, and the night (pure).

The real observe page filters by date range, filter, exposure time, user and file name
(LCOGT/ptr_ui `src/components/ImageFilter.vue`, `filter_images`, which sends them to
`/filtered_images`), and pages through a night from its first image (`images.js`,
`load_latest_images`: the site's local noon-to-noon day of the newest image). Here the same
choices reach our own `/site/{site}/observe.json` as query parameters, are read into an
`ImageQuery` once, and `db.SiteDB.observe_rows` turns the record into bound SQL.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PARAMS = ("start", "end", "filter", "exposure_min", "exposure_max", "user", "filename", "page")
"""The query parameters the page sends; any other is refused, so a typo does not silently match all."""
MAX_PAGE = 10_000
MAX_TEXT = 128
NIGHT_ROLLOVER = dt.timedelta(hours=12)
"""The observing night runs from local noon to local noon (`exposure.observation`, ptr_ui's
`load_latest_images`)."""
DATE_HINT = "use YYYY-MM-DD, YYYY-MM-DD HH:MM or YYYY-MM-DDTHH:MM:SS (UTC)"


@dataclass(frozen=True)
class ImageQuery:
    """What one look at a site's images asks for; None means "any"."""

    site: str
    start_s: float | None = None
    end_s: float | None = None
    filter: str | None = None
    exposure_min: float | None = None
    exposure_max: float | None = None
    user: str | None = None
    filename: str | None = None
    page: int = 0

    @property
    def is_filtered(self) -> bool:
        return any(v is not None for v in (self.start_s, self.end_s, self.filter, self.exposure_min,
                                             self.exposure_max, self.user, self.filename))


def parse_image_query(site: str, params: Mapping[str, str]) -> ImageQuery:
    """The page's parameters as a record; an empty value means "any". Raises ValueError with the
    one-line reason naming the bad parameter and what is allowed."""
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise ValueError(f"query parameter {unknown[0]!r} is not known: use {', '.join(PARAMS)}")
    given = {name: value.strip() for name, value in params.items() if value.strip()}
    for name, value in given.items():
        if len(value) > MAX_TEXT:
            raise ValueError(f"{name} is {len(value)} characters long: at most {MAX_TEXT} are allowed")
    start, end = _date(given, "start"), _date(given, "end")
    low, high = _number(given, "exposure_min"), _number(given, "exposure_max")
    if start is not None and end is not None and start > end:
        raise ValueError(f"start {given['start']!r} is after end {given['end']!r}: give start before end")
    if low is not None and high is not None and low > high:
        raise ValueError(f"exposure_min {low:g} is above exposure_max {high:g}: give min at most max")
    page_text = given.get("page", "0")
    if not (page_text.isascii() and page_text.isdigit()) or int(page_text) > MAX_PAGE:
        raise ValueError(f"page {page_text!r} is not allowed: use a whole number from 0 to {MAX_PAGE}")
    return ImageQuery(site=site, start_s=start, end_s=end, filter=given.get("filter"), exposure_min=low,
                      exposure_max=high, user=given.get("user"), filename=given.get("filename"),
                      page=int(page_text))


def _date(given: Mapping[str, str], name: str) -> float | None:
    if name not in given:
        return None
    try:
        when = dt.datetime.fromisoformat(given[name])
    except ValueError:
        raise ValueError(f"{name} {given[name]!r} is not a date: {DATE_HINT}") from None
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()


def _number(given: Mapping[str, str], name: str) -> float | None:
    if name not in given:
        return None
    try:
        number = float(given[name])
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name} {given[name]!r} is not allowed: use seconds, a number 0 or more")
    return number


def night_bounds(capture_s: float, timezone: str) -> tuple[float, float]:
    """The site's observing night (local noon to local noon) holding `capture_s`, in UTC seconds.

    An unknown zone name counts as UTC, so a site without a profile still gets a night.
    """
    try:
        zone: dt.tzinfo = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    local = dt.datetime.fromtimestamp(capture_s, zone)
    day = (local.replace(tzinfo=None) - NIGHT_ROLLOVER).date()
    start = dt.datetime.combine(day, dt.time(12), zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(12), zone)
    return start.timestamp(), end.timestamp()
