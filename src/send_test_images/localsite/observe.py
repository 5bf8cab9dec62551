"""What the observe page shows, as plain data: rows of the database -> cards of the strip.

Pure functions, so the rules the web UI follows are tested without a browser: newest first, a
smartstack folded into one card showing its highest SSTKNUM frame and the stack's length (protocol
§5), files offered for download by their stored keys. The page's script only draws these cards.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from send_test_images.localsite.headertext import to_float

NOT_A_STACK = ("", "no")
"""SMARTSTK of a frame that is not part of a smartstack (protocol §5: sites write `no`)."""
MS_PER_S = 1000
FITS_MARK = ".fits"
INFO_CHANNEL_NAMES = {1: "plate solve", 2: "focus", 3: "info"}
"""What sites put on each info-image channel (protocol §6); channel 3 is free for anything."""


def file_url(key: str) -> str:
    """The page's link for a stored object: a GET that redirects to a fresh presigned URL."""
    directory, _, name = key.partition("/")
    return f"/download/{quote(directory)}/{quote(name)}"


def _int(value: Any) -> int | None:
    """A header number as the web UI reads it (JS parseInt): `5`, `'5'` and a real site's float
    SSTKLEN `5.0` are all 5; anything else is None."""
    number = to_float(str(value))
    return int(number) if number is not None else None


def stack_id(header: dict[str, str]) -> str | None:
    """The smartstack this frame belongs to, or None for a normal frame."""
    value = str(header.get("SMARTSTK", "")).strip()
    return None if value.lower() in NOT_A_STACK else value


def files_of(keys: Iterable[str]) -> list[dict[str, str]]:
    """The FITS files of an exposure offered for download, by their stored keys."""
    return [{"name": key.rsplit("/", 1)[-1], "url": file_url(key)}
            for key in keys if FITS_MARK in key.rsplit("/", 1)[-1]]


def keys_prefix(row: dict[str, Any]) -> str:
    """Where the files of a row's exposure are stored: every key starting with this."""
    return f"{row['s3_directory']}/{row['base_filename']}-"


def make_card(row: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """One image as the page draws it; `keys` are the stored objects of its exposure.

    FWHM and sky level come from the header's FWHMASEC/FWHM/SEPSKY cards, which the real info bar
    shows (LCOGT/ptr_ui `src/components/ImageDisplay/ImageInfoBar.vue`).
    """
    header = json.loads(row["header"]) if row.get("header") else {}
    thumbnail_key = row.get("jpg_small_key") or row.get("jpg_medium_key")
    return {
        "base_filename": row["base_filename"],
        "site": row["site"],
        "data_type": row.get("data_type"),
        "capture_ms": int(row["capture_date"] * MS_PER_S) if row.get("capture_date") else None,
        "exposure_time": row.get("exposure_time"),
        "filter": row.get("filter_used"),
        "right_ascension": row.get("right_ascension"),
        "declination": row.get("declination"),
        "altitude": row.get("altitude"),
        "azimuth": row.get("azimuth"),
        "airmass": row.get("airmass"),
        "username": row.get("username"),
        "user_id": row.get("user_id"),
        "thumbnail_url": file_url(thumbnail_key) if thumbnail_key else None,
        "jpg_url": file_url(row["jpg_medium_key"]) if row.get("jpg_medium_key") else None,
        "directory": row.get("s3_directory"),
        "fwhm_arcsec": to_float(str(header.get("FWHMASEC", ""))),
        "fwhm_pixels": to_float(str(header.get("FWHM", ""))),
        "sky_adu": to_float(str(header.get("SEPSKY", ""))),
        "files": files_of(keys),
        "smartstack": None,
        **_stack_fields(header),
    }


def _stack_fields(header: dict[str, Any]) -> dict[str, Any]:
    """What folding reads of a frame: its stack, its place in it and the stack's length."""
    return {"_stack": stack_id(header), "_index": _int(header.get("SSTKNUM")),
            "_length": _int(header.get("SSTKLEN"))}


_STACK_CARD = re.compile(r'"(SMARTSTK|SSTKNUM|SSTKLEN)"\s*:\s*("(?:[^"\\]|\\.)*"|[^,}\s]+)')
"""One of the stack's cards in a stored header's JSON text, its value as a JSON literal."""


def _stack_cards(header_json: str | None) -> dict[str, Any]:
    """The stack cards of a stored header, read from its JSON text without parsing all of it:
    a real header has ~270 cards, and a strip reads hundreds of rows per poll only to fold them
    (figures in bench/README.md, `./dev bench observe`). Keys are matched only where followed by
    a colon, and JSON escapes every quote inside a string, so a value cannot pose as a key."""
    if not header_json:
        return {}
    return {match[1]: json.loads(match[2]) for match in _STACK_CARD.finditer(header_json)}


def fold_smartstacks(
    cards: list[dict[str, Any]], build: Callable[[dict[str, Any]], dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Cards newest first with each smartstack shown once, as its highest-SSTKNUM frame.

    The stack keeps the place of its newest frame in the strip; its length is SSTKLEN when the
    header says it, else the number of frames that have arrived so far. `build` turns the
    frame that is shown into what is returned (default: the card without its `_` fields).
    """
    build = build or _public
    stacks: dict[str, list[dict[str, Any]]] = {}
    order: list[str | dict[str, Any]] = []
    for card in cards:
        stack = card["_stack"]
        if stack is None:
            order.append(card)
        else:
            if stack not in stacks:
                stacks[stack] = []
                order.append(stack)
            stacks[stack].append(card)
    shown = []
    for entry in order:
        if isinstance(entry, dict):
            shown.append(build(entry))
            continue
        frames = stacks[entry]
        top = max(frames, key=lambda c: c["_index"] if c["_index"] is not None else -1)
        card = build(top)
        card["smartstack"] = {
            "id": entry,
            "frame": top["_index"] if top["_index"] is not None else 0,
            "length": top["_length"] or len(frames),
            "frames_arrived": len(frames),
        }
        shown.append(card)
    return shown


def _public(card: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in card.items() if not key.startswith("_")}


def strip(
    rows: list[dict[str, Any]], keys_of: Callable[[str], list[str]], limit: int, offset: int = 0
) -> list[dict[str, Any]]:
    """The strip for a site: rows newest first -> the cards `offset` to `offset + limit`.

    Folding needs every row up to the page, but only what a stack is; so every row is read for
    that alone, and only the cards shown are made, with one key lookup each.
    """
    frames = [{"row": row, **_stack_fields(_stack_cards(row.get("header")))} for row in rows]
    shown = fold_smartstacks(frames, build=lambda frame: {"row": frame["row"]})[offset:offset + limit]
    cards = []
    for entry in shown:
        card = single_card(entry["row"], keys_of(keys_prefix(entry["row"])))
        card["smartstack"] = entry.get("smartstack")
        cards.append(card)
    return cards


def info_card(channel: int, row: dict[str, Any] | None) -> dict[str, Any]:
    """One info-image channel beside the main image; empty when nothing is on it yet."""
    key = row.get("jpg_medium_key") if row else None
    return {
        "channel": channel,
        "label": INFO_CHANNEL_NAMES.get(channel, f"channel {channel}"),
        "base_filename": row["base_filename"] if row else None,
        "jpg_url": file_url(key) if key else None,
    }


def single_card(row: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """One image on its own (a permalink, an info image, the night's first): no stack folding."""
    return _public(make_card(row, keys))
