"""A header read from a FITS file that landed before its `.txt`, as the real ingestion reads it (pure).

When a FITS file lands and its image has no header yet, the real ingestion falls back on the
FITS itself (`handle_s3_object_created` -> `get_header_from_fits`, LCOGT/ptr_data
`lambda_service/insert_data.py`, `helpers.py`): `dict(fits.open(url)[0].header)`, typed as astropy
types it, with a `JSON` copy made by `json.dumps`. So:
- a `.fits.fz` has an empty primary HDU (the image is in extension 1): no DATE-OBS, no CRVAL1,
  `update_header_data` raises, nothing is stored;
- a `.fits.bz2` or `.fits` with the full header is ingested, its numbers staying numbers in the
  stored header (a later `.txt` replaces them with strings);
- a header with COMMENT or HISTORY cards cannot be `json.dumps`ed: the real ingestion fails.
Only the first `MAX_READ_BYTES` are read (a header is a few 2880-byte blocks).
"""

from __future__ import annotations

import bz2
import json
from typing import Any

from astropy.io import fits

MAX_READ_BYTES = 1 << 20
"""Read this much of the object (bz2: decompress up to this much) to find the primary header."""
BLOCK = 2880
END_CARD = b"END" + b" " * 77


def primary_header(data: bytes, bz2_compressed: bool) -> dict[str, Any] | None:
    """The primary header as the real fallback stores it, or None where the real one fails."""
    if bz2_compressed:
        try:
            data = bz2.BZ2Decompressor().decompress(data, max_length=MAX_READ_BYTES)
        except (OSError, ValueError, EOFError):
            return None
    end = _end_of_header(data)
    if end is None:
        return None
    try:
        header = fits.Header.fromstring(data[:end].decode("ascii"))
        values = dict(header)
        json.dumps(values)
    except (ValueError, TypeError, UnicodeDecodeError):
        return None
    return values


def _end_of_header(data: bytes) -> int | None:
    for start in range(0, len(data) - 79, 80):
        if data[start : start + 80] == END_CARD:
            return start + 80
    return None


def as_text(header: dict[str, Any]) -> dict[str, str]:
    """The values as the text PostgreSQL would receive for them (for the ingestion checks)."""
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in header.items()}
