"""A value already stored (by an older version, in a data dir that outlives its code) never
turns a read into a 502: the answer side carries non-finite numbers as null."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import httpx

from send_test_images.localsite import headertext
from send_test_images.localsite.db import SiteDB
from send_test_images.localsite.web.app import make_app
from send_test_images.localsite.web.context import ApiContext
from send_test_images.localsite.web.jsonbody import finite

BASE = "old-inst-20261130-00000001"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def _get(app: Any, path: str) -> httpx.Response:
    """One request to the app in process (no server needed: the point is the encoding)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://local") as client:
        return await client.get(path)


class _Presigner:
    """Stands in for boto3: the image package asks for a JPG URL; no S3 is needed for the point."""

    def generate_presigned_url(self, method: str, Params: dict[str, str], ExpiresIn: int) -> str:
        return f"http://127.0.0.1:9/b/{Params['Key']}"


def test_a_stored_infinity_is_answered_as_null(tmp_path: Path) -> None:
    db = SiteDB(tmp_path / "site.sqlite3")
    values = {"capture_date": 1.0e9, "exposure_time": math.inf, "right_ascension": -math.inf,
              "declination": 1.0, "airmass": math.nan}
    db.set_header(BASE, "data", "old", values, {"EXPTIME": "inf"})
    db.set_flag(BASE, "data", "old", "jpg_medium_exists", data_type="EX")
    ctx = ApiContext(db=db, s3=_Presigner(), direct=None, bucket="b", s3_url="http://127.0.0.1:9")  # type: ignore[arg-type]
    for path in ("/old/latest_images/5", f"/image/{BASE}", "/site/old/observe.json"):
        answer = asyncio.run(_get(make_app(ctx), path))
        assert answer.status_code == 200, path
        body = json.loads(answer.text, parse_constant=_refuse_constant)
        record = body[0] if isinstance(body, list) else body.get("cards", [body])[0]
        assert record["exposure_time"] is None
        assert record["right_ascension"] is None
    db.close()


def test_finite_keeps_everything_else() -> None:
    value = {"a": [1, 2.5, "inf", None, True, {"b": math.inf}], "c": (math.nan,)}
    assert finite(value) == {"a": [1, 2.5, "inf", None, True, {"b": None}], "c": [None]}


def test_non_finite_header_numbers_read_as_missing() -> None:
    for text in ("inf", "-inf", "nan", "NaN", "Infinity", "1e400", "-1e400"):
        assert headertext.to_float(text) is None, text
    assert headertext.to_float("1e300") == 1e300
    assert headertext.to_float(" 30.5 ") == 30.5
    cards = {"DATE-OBS": "2026-11-30T00:00:00", "CRVAL1": "inf", "RAHRS": "10.0", "CRVAL2": "nan"}
    assert headertext.required_fields(cards) is None  # a Dec of NaN is no Dec
    pointing = headertext.required_fields({**cards, "DEC": "-5"})
    assert pointing is not None and pointing.right_ascension == 10.0  # CRVAL1 inf: RAHRS is used
