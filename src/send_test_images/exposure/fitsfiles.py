"""The FITS bytes a site uploads: `.fits.fz` (Rice tiles, what the web UI serves) or `.fits.bz2`.

`.fits.fz` follows fpack's layout: an empty primary HDU, then the image as a tile-compressed
extension (RICE_1, one tile per row). Rice on integers is lossless, and astropy stores uint16 as
int16 with BZERO = 32768 inside the tiles and gives uint16 back on reading, so a downloaded file
holds exactly the synthesised pixels. `.fits.bz2` is the older layout: a plain FITS with the image
in the primary HDU (uint16 again as int16 + BZERO), compressed whole with bz2.

The small FITS (level 10) is the frame block-averaged so its long side is at most the camera's
`small_size`; its header is the large one's with size, binning, pixel scale and WCS rescaled so
sky positions stay right.
"""

from __future__ import annotations

import bz2
import functools
import io
import re
from dataclasses import dataclass

import numpy as np
from astropy.io import fits

from send_test_images.errors import UsageError
from send_test_images.exposure.cards import card_image

try:  # astropy's own Rice codec (what its Rice1 codec calls); private, so its absence only costs speed
    from astropy.io.fits.hdu.compressed._compression import compress_rice_1_c as _rice
except ImportError:  # pragma: no cover - depends on the astropy release
    _rice = None

FITS_FORMATS = ("fz", "bz2")

EXTENSIONS = {"fz": "fits.fz", "bz2": "fits.bz2"}
"""File-name extension per format, as naming.py spells them."""

COMPRESSION = "RICE_1"

TILE_ROWS = 16
"""Rows per compression tile. fpack's default is one row per tile, but astropy then spends more
time per tile in Python than in Rice itself; 16 rows halve the time of a 768² frame and the file
is no larger (Rice works on 32-pixel blocks either way). Readers handle any tile shape."""

RICE_BLOCK_SIZE = 32
"""Pixels per Rice block: the FITS default, which astropy writes (ZVAL1 = 32)."""

BZ2_LEVEL = 9

UINT16_MAX = np.iinfo(np.uint16).max

STRUCTURAL_KEYS = frozenset(
    {"SIMPLE", "XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "PCOUNT", "GCOUNT",
     "BZERO", "BSCALE"}
)
"""Keys astropy writes itself from the data; passing stale copies in would contradict it."""

CARD_BYTES = 80
BLOCK_BYTES = 2880
END_CARD = b"END".ljust(CARD_BYTES)

RESERVED_IN_COMPRESSED = re.compile(
    r"^(EXTNAME|CHECKSUM|DATASUM|TFIELDS|THEAP"
    r"|T(TYPE|FORM|UNIT|NULL|SCAL|ZERO|DISP|DIM|BCOL)\d+"
    r"|Z(IMAGE|CMPTYPE|BITPIX|NAXIS\d*|TILE\d+|NAME\d+|VAL\d+|MASKCMP|SIMPLE|TENSION|EXTEND"
    r"|BLOCKED|PCOUNT|GCOUNT|HECKSUM|DATASUM|QUANTIZ|DITHER0|BLANK|SCALE|ZERO)|)$"
)
"""Keywords the tile-compression convention moves or renames (and blank cards, which astropy
re-counts): a header holding one of them takes astropy's own, slower, header conversion."""


def check_fits_format(fits_format: str) -> str:
    if fits_format not in FITS_FORMATS:
        raise UsageError(
            f"FITS format {fits_format!r} is not allowed: use one of {', '.join(FITS_FORMATS)}"
        )
    return fits_format


def fits_bytes(
    pixels: np.ndarray, header: fits.Header | None, fits_format: str, *, text: bytes | None = None
) -> bytes:
    """The file's bytes in `fits_format` ('fz' or 'bz2'); same input, same bytes.

    `text` is `header` as its 80-character cards (the `.txt`), when the caller has it: the
    cards are then taken from it instead of from astropy, which verifies every card it has
    not formatted itself (2 ms for a header of ours). With `text`, `header` may be None: it is
    parsed from the text only if it is needed (bz2, or keywords fz must move).
    """
    check_fits_format(fits_format)
    if fits_format == "fz":
        return fz_bytes(pixels, header, text=text)
    return bz2_bytes(pixels, _header(header, text))


def _header(header: fits.Header | None, text: bytes | None) -> fits.Header:
    if header is not None:
        return header
    if text is None:
        raise ValueError("a FITS file needs its header or the header's text")
    return fits.Header.fromstring(text.decode("ascii"))


def fz_bytes(pixels: np.ndarray, header: fits.Header | None, *, text: bytes | None = None) -> bytes:
    """fpack-style `.fits.fz`: empty primary HDU plus a RICE_1 compressed image extension.

    astropy converts every card of the image header into the compressed table's header, card by
    card, which at 768² costs more than the compression. It copies the content cards unchanged
    after its own, so the same bytes come from compressing with no content cards and adding
    their 80-character images before END; headers with keywords the convention treats
    specially still go through astropy whole.
    """
    data = _as_uint16(pixels)
    if text is not None:
        cards = _text_cards(text)
        keys = [card[:8].rstrip().decode("ascii") for card in cards]
        content_images = [c for c, k in zip(cards, keys, strict=True) if k not in STRUCTURAL_KEYS]
        content_keys = [k for k in keys if k not in STRUCTURAL_KEYS]
    else:
        content = [card for card in _header(header, text).cards if card.keyword not in STRUCTURAL_KEYS]
        content_images = [card.image.encode("ascii") for card in content]
        content_keys = [card.keyword for card in content]
    if any(RESERVED_IN_COMPRESSED.match(key) for key in content_keys):
        return _write(fits.HDUList([fits.PrimaryHDU(), _compressed(data, _content(_header(header, text)))]))
    bare = _bare_fz(data)
    images = b"".join(content_images)
    return _with_cards(bare, _end_card(bare, _padded(_end_card(bare, 0) + CARD_BYTES)), images)


def _text_cards(text: bytes) -> list[bytes]:
    """The cards of a header's text up to (not including) END."""
    cards = []
    for at in range(0, len(text), CARD_BYTES):
        card = text[at : at + CARD_BYTES]
        if card == END_CARD:
            break
        cards.append(card)
    return cards


def _bare_fz(data: np.ndarray) -> bytes:
    """The `.fits.fz` of `data` with no content cards, exactly as astropy writes it.

    Of astropy's ~6 ms for a 768² frame only ~4 ms is Rice; the rest is building the same
    table header (per shape) and per-tile bookkeeping each time. So the header is taken from
    astropy once per shape, and each frame only runs astropy's Rice codec over its tiles and
    lays out the descriptor table and heap the way astropy does (a test holds the two equal).
    """
    if _rice is None:  # an astropy without the codec module: its own writer, same bytes
        return _write(fits.HDUList([fits.PrimaryHDU(), _compressed(data, None)]))
    height, width = data.shape
    rows = min(TILE_ROWS, height)
    template = _bare_template(height, width)
    # uint16 - 32768, as astropy stores it, a tile at a time (no frame-sized copy to write and read back)
    flip = np.uint16(0x8000)
    tiles = [_rice((data[top : top + rows] ^ flip).tobytes(), RICE_BLOCK_SIZE, 2) for top in range(0, height, rows)]
    sizes = np.fromiter((len(tile) for tile in tiles), dtype=np.int64, count=len(tiles))
    descriptors = np.empty((len(tiles), 2), dtype=">i4")
    descriptors[:, 0] = sizes
    descriptors[:, 1] = np.concatenate(([0], np.cumsum(sizes[:-1])))
    heap = b"".join(tiles)
    header = template.header_for(heap_size=len(heap), longest_tile=int(sizes.max()))
    body = descriptors.tobytes() + heap
    return template.primary + header + body + bytes(_padded(len(body)) - len(body))


@dataclass(frozen=True)
class _BareTemplate:
    """astropy's bytes for an empty primary HDU and the compressed table header of one shape."""

    primary: bytes
    header_cards: list[bytes]
    pcount_at: int
    tform_at: int
    pcount_comment: str
    tform_comment: str

    def header_for(self, *, heap_size: int, longest_tile: int) -> bytes:
        cards = list(self.header_cards)
        # an int and a short string: cards.py writes them as astropy does (tested), ~50x faster
        cards[self.pcount_at] = card_image("PCOUNT", heap_size, self.pcount_comment).encode("ascii")
        cards[self.tform_at] = card_image("TFORM1", f"1PB({longest_tile})", self.tform_comment).encode("ascii")
        raw = b"".join(cards) + END_CARD
        return raw + b" " * (_padded(len(raw)) - len(raw))


@functools.lru_cache(maxsize=8)
def _bare_template(height: int, width: int) -> _BareTemplate:
    raw = _write(fits.HDUList([fits.PrimaryHDU(), _compressed(np.zeros((height, width), np.uint16), None)]))
    start = _padded(_end_card(raw, 0) + CARD_BYTES)
    end = _end_card(raw, start)
    cards = [raw[at : at + CARD_BYTES] for at in range(start, end, CARD_BYTES)]
    keys = [card[:8].rstrip() for card in cards]
    pcount_at, tform_at = keys.index(b"PCOUNT"), keys.index(b"TFORM1")
    return _BareTemplate(primary=raw[:start], header_cards=cards, pcount_at=pcount_at, tform_at=tform_at,
                         pcount_comment=_comment(cards[pcount_at]), tform_comment=_comment(cards[tform_at]))


def _comment(card: bytes) -> str:
    return str(fits.Card.fromstring(card.decode("ascii")).comment)


ARCHIVE_DITHER_SEED = -1
"""astropy's DITHER_SEED_CHECKSUM: the quantisation's dither is seeded from the first tile's
checksum, so the same pixels give the same bytes (the site's default, 0, seeds it from the
clock, and no two writes of one frame would be equal)."""


def archive_fz_bytes(pixels: np.ndarray, header: fits.Header) -> bytes:
    """The large FITS as ptr-observatory archives it (`subprocesses/fz_archive_file.py`):
    `fits.CompImageHDU(np.float32 data, header)` with BZERO 0 and BSCALE 1, astropy's default
    compression (RICE_1, float data quantised to 1/16 of the noise, subtractive dither)."""
    data = np.asarray(_as_uint16(pixels), dtype=np.float32)
    hdu = fits.CompImageHDU(data=data, header=_content(header), compression_type=COMPRESSION,
                            dither_seed=ARCHIVE_DITHER_SEED)
    return _write(fits.HDUList([fits.PrimaryHDU(), hdu]))


def bz2_bytes(pixels: np.ndarray, header: fits.Header) -> bytes:
    """A plain single-HDU FITS (uint16 as int16 + BZERO 32768), bz2-compressed."""
    plain = _write(fits.HDUList([fits.PrimaryHDU(data=_as_uint16(pixels), header=_content(header))]))
    return bz2.compress(plain, compresslevel=BZ2_LEVEL)


def _as_uint16(pixels: np.ndarray) -> np.ndarray:
    if pixels.ndim != 2:
        raise UsageError(f"image of shape {pixels.shape} is not allowed: use a 2-D array")
    if pixels.dtype == np.uint16:
        return pixels
    if np.issubdtype(pixels.dtype, np.integer) and pixels.min() >= 0 and pixels.max() <= UINT16_MAX:
        return pixels.astype(np.uint16)
    raise UsageError(f"image dtype {pixels.dtype} is not allowed: use uint16 ADU")


def _compressed(data: np.ndarray, header: fits.Header | None) -> fits.CompImageHDU:
    return fits.CompImageHDU(
        data=data,
        header=header,
        compression_type=COMPRESSION,
        tile_shape=(min(TILE_ROWS, data.shape[0]), data.shape[1]),
    )


def _end_card(raw: bytes, start: int) -> int:
    """Offset of the END card of the header that begins at `start`."""
    end = start
    while raw[end : end + CARD_BYTES] != END_CARD:
        end += CARD_BYTES
    return end


def _with_cards(raw: bytes, end: int, images: bytes) -> bytes:
    """`raw` with card images inserted before the END card at `end`, header re-padded."""
    data_start = _padded(end + CARD_BYTES)
    header = raw[:end] + images + END_CARD
    return header + b" " * (_padded(len(header)) - len(header)) + raw[data_start:]


def _padded(size: int) -> int:
    return -(-size // BLOCK_BYTES) * BLOCK_BYTES


def _content(header: fits.Header) -> fits.Header:
    out = header.copy()
    for key in STRUCTURAL_KEYS:
        out.remove(key, ignore_missing=True, remove_all=True)
    return out


def _write(hdul: fits.HDUList) -> bytes:
    buffer = io.BytesIO()
    hdul.writeto(buffer)
    return buffer.getvalue()
