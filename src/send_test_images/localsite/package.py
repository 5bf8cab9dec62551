"""The answers the real API builds from its tables, as pure functions of our rows (no I/O).

One shape per kind of answer, shared by every route that returns it, so `latest_images`,
`image/{base}` and `filtered_images` cannot drift apart:

- `image_package`: `Image.get_image_pkg` (LCOGT/photonranch-api `api/db.py`).
- `fold_final_smartstacks`: `filter_img_pkgs_final_sstack` (same file).
- `info_image_package`: `get_info_image_package` (`api/info_images.py`) over the item ingestion
  writes (`handle_info_image_created`, LCOGT/ptr_data `lambda_service/info_images.py`).
- `upload_log_entry`: `add_to_recent_uploads_log` (LCOGT/ptr_data `lambda_service/s3_log.py`).

URLs are made by a `presign(key)` callable the caller passes in, so this module stays pure.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from send_test_images.errors import InvalidName
from send_test_images.exposure import naming

MS_PER_S = 1000
FLAGS = ("fits_01_exists", "fits_10_exists", "jpg_medium_exists", "jpg_small_exists")
DATA_DIRECTORY = "data"
INFO_DIRECTORY = "info-images"
UPLOADS_LOG_TTL_S = 48 * 3600
"""`UPLOADS_LOG_TTL_HOURS: 48` (LCOGT/ptr_data `serverless.yml`): each log entry's own expiry."""
INFO_IMAGES_TTL_S = 48 * 3600
"""`INFO_IMAGES_TTL_HOURS: 48` (same file): an info image item's `expiration_timestamp`."""

Presign = Callable[[str], str]


def header_of(row: dict[str, Any]) -> dict[str, Any] | None:
    """The stored header as a dict, or None when no header has landed."""
    return json.loads(row["header"]) if row.get("header") else None


def _ms(seconds: float | None) -> int:
    """Seconds to the real API's integer milliseconds; a legacy row with no date reads as 0."""
    return int(MS_PER_S * seconds) if seconds else 0


def image_package(row: dict[str, Any], presign: Presign) -> dict[str, Any]:
    """A row as `get_image_pkg` returns it, key for key.

    The real rules kept: flags are true or null (ingestion sets a flag on the row it creates and
    never writes false); strings come as the header had them, null when the header has no card;
    `fits_filename`/`fits_path`, `SMARTSTK`/`SSTKNUM` are `''` without a header; `s3_directory`
    is always `data`; `right_ascension` is stored as the header gave it (CRVAL1, degrees);
    `capture_date`/`sort_date` are integer ms, the row's creation time until a header lands; the
    JPG URLs point at `{base}-{data_type}10.jpg` / `11.jpg`, or are `''`.
    """
    header = header_of(row)
    fits_filename = ""
    fits_path = ""
    if header:
        fits_path = f"{header.get('SITEID', '')}/{header.get('INSTRUME', '')}/{header.get('DAY-OBS', '')}/raw"
        fits_filename = header.get("ORIGNAME", "")
    base, data_type = row["base_filename"], row.get("data_type")
    capture = _ms(row.get("capture_date"))
    return {
        "image_id": row["image_id"],
        "base_filename": base,
        "data_type": data_type,
        "site": row["site"],
        "exposure_time": row.get("exposure_time"),
        "filter_used": row.get("filter_used"),
        "right_ascension": row.get("right_ascension"),
        "declination": row.get("declination"),
        "azimuth": row.get("azimuth"),
        "altitude": row.get("altitude"),
        "airmass": row.get("airmass"),
        **{flag: True if row.get(flag) else None for flag in FLAGS},
        "s3_directory": DATA_DIRECTORY,
        "username": row.get("username"),
        "user_id": row.get("user_id"),
        "fits_filename": fits_filename,
        "fits_path": fits_path,
        "SMARTSTK": header.get("SMARTSTK", "") if header is not None else "",
        "SSTKNUM": header.get("SSTKNUM", "") if header is not None else "",
        "capture_date": capture,
        "sort_date": capture,
        "jpg_url": presign(f"data/{base}-{data_type}10.jpg") if row.get("jpg_medium_exists") else "",
        "jpg_thumbnail_url": presign(f"data/{base}-{data_type}11.jpg") if row.get("jpg_small_exists") else "",
    }


def _digits(value: Any) -> bool:
    return isinstance(value, str) and value.isdigit()


def fold_final_smartstacks(packages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop intermediate smartstack frames as `filter_img_pkgs_final_sstack` does.

    Only stacks whose SMARTSTK is all digits are folded (a site's `%d%m%y%H%M%S` ids); within one,
    frames with a lower SSTKNUM than the stack's highest are dropped. Packages keep their order.
    Like the real function, a digit stack id with an SSTKNUM that is not a number (`''` when the
    header has no SSTKNUM card) raises ValueError; the real handler then fails (its 404 branch
    cannot serialise the exception), which API Gateway answers 502, and so does ours.
    """
    highest: dict[str, int] = {}
    for package in packages:
        number, stack = package.get("SSTKNUM", ""), package.get("SMARTSTK")
        if not isinstance(number, str):  # a header read from a FITS keeps numbers: `.isdigit()` fails
            raise ValueError(f"SSTKNUM {number!r} is not text")
        if not _digits(number) or stack is None or stack == "no":
            continue
        highest[stack] = max(highest.get(stack, int(number)), int(number))
    return [
        package for package in packages
        if package.get("SMARTSTK") is None
        or package.get("SSTKNUM") is None
        or package.get("SMARTSTK") == "no"
        or not _digits(package.get("SMARTSTK"))
        or int(package.get("SSTKNUM", 0)) >= highest.get(package["SMARTSTK"], 0)
    ]


def _file_fields(key: str) -> tuple[str, str] | None:
    """(`{ext}_{level}_file_path`, its exists key) as info-image ingestion names them."""
    try:
        name = naming.parse(key.rsplit("/", 1)[-1])
    except InvalidName:
        return None
    ext = name.kind
    if ext == "jpg" and name.level == "10":
        exists = "jpg_medium_exists"
    elif ext == "jpg" and name.level == "11":
        exists = "jpg_small_exists"
    elif ext == "fits":
        exists = f"fits_{name.level}_exists"
    else:
        exists = f"other_{ext}_{name.level}_exists"
    return f"{ext}_{name.level}_file_path", exists


def info_image_package(
    site: str,
    channel: str,
    row: dict[str, Any],
    stored: Iterable[tuple[str, float]],
    presign: Presign,
) -> dict[str, Any]:
    """The info image on a channel as `get_info_image_package` answers it.

    `stored` are the (key, upload time) of the image's landed files: each one added a
    `{ext}_{level}_file_path` and an exists flag to the real item, and pushed its
    `expiration_timestamp` to 48 h after it landed. `channel` stays the path's text, as the real
    handler echoes it.
    """
    item: dict[str, Any] = {"pk": f"{site}#{channel}", "base_filename": row["base_filename"],
                            "data_type": row.get("data_type"), "file_date": row["base_filename"].split("-")[2]}
    newest = 0.0
    for key, uploaded in stored:
        fields = _file_fields(key)
        if fields is None:
            continue
        path_key, exists_key = fields
        item[path_key] = key
        item[exists_key] = True
        newest = max(newest, uploaded)
    item["expiration_timestamp"] = int(newest) + INFO_IMAGES_TTL_S
    header = header_of(row)
    if header is not None:
        item["header"] = header
    package = {
        **item,
        "site": site,
        "channel": channel,
        "base_filename": item["base_filename"],
        "jpg_medium_exists": item.get("jpg_medium_exists", False),
        "jpg_small_exists": item.get("jpg_small_exists", False),
        "fits_01_exists": item.get("fits_01_exists", False),
        "fits_10_exists": item.get("fits_10_exists", False),
        "s3_directory": INFO_DIRECTORY,
    }
    for flag, path_key, url_key in (
        ("jpg_medium_exists", "jpg_10_file_path", "jpg_url"),
        ("jpg_small_exists", "jpg_11_file_path", "jpg_small_url"),
        ("fits_01_exists", "fits_01_file_path", "fits_01_url"),
        ("fits_10_exists", "fits_10_file_path", "fits_10_url"),
    ):
        if package[flag]:
            package[url_key] = presign(item[path_key])
    return package


def upload_log_entry(key: str, site: str, uploaded_s: float, size_bytes: int) -> dict[str, Any]:
    """One `recentuploads` entry: integer seconds, and the log entry's own 48 h expiry."""
    return {
        "site": site,
        "upload_timestamp_s": int(uploaded_s),
        "expire_timestamp_s": int(uploaded_s + UPLOADS_LOG_TTL_S),
        "filename": key,
        "size_bytes": int(size_bytes),
    }
