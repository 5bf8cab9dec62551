"""Cheap exposures for load: a few frames drawn once, then only names and headers per exposure.

Drawing a frame is the expensive part of an exposure (a 768² light frame with all its files is
~18 ms of one core, a 4096² one ~320 ms: README, Performance). A Locust worker that drew every
exposure afresh would spend its core on pixels instead of on sending, and fifty sites at real
cadence would need a rack of workers. So a worker draws a small pool of distinct frames per
camera once, at start (seeded: the same seed, the same pool), and for each exposure only:

- names the files (`{site}-{inst}-{night}-{number}-{TT}{RR}.{ext}`, the user's own camera);
- stamps the header cards that differ between exposures (site, instrument, ORIGNAME, FRAMENUM,
  the times, a fresh pointing with its alt/az and airmass, OBJECT and the WCS centre) into the
  `.txt` and into the FITS headers, by overwriting those 80-byte cards in place. The card images
  are the ones `exposure/header.py` writes (a test checks they match byte for byte), so the
  stamped `.txt` is exactly the header `up` would have written for those pixels.

The trade-off: pixels repeat every `size` exposures per worker and camera (the previews and the
FITS data of exposure n and n + size are the same; their names, times and pointing are not), the
stars do not move with the WCS centre, and the SEED card is the pooled frame's (true to its
pixels). That is what a load test of the upload path and of ingestion needs: distinct names,
realistic sizes and headers, at ~2-3% of the CPU (bench/bench_load.py). `--fresh-frames` draws
every exposure afresh instead (`make_fresh`), for when the pixels themselves matter.

`.fits.bz2` files are stamped before compression, so each one is bz2-compressed again: the pool
saves the drawing, not the compression (use the default `fz` for cheap load).
"""

from __future__ import annotations

import bz2
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from astropy.io import fits

from send_test_images.errors import UsageError
from send_test_images.exposure.fitsfiles import BZ2_LEVEL, EXTENSIONS
from send_test_images.exposure.header import (
    DEGREES_PER_HOUR,
    MJD_TO_JD,
    format_date_obs,
    format_dec,
    format_ra,
    mjd,
    object_name,
)
from send_test_images.exposure.naming import FileName
from send_test_images.exposure.observation import make_observation
from send_test_images.exposure.options import MAX_SEED
from send_test_images.exposure.products import make_exposure
from send_test_images.exposure.profiles import CameraProfile, get_site
from send_test_images.exposure.spec import ExposureSpec
from send_test_images.exposure.synth import FrameSpec

CARD = 80
BLOCK = 2880
KEY = 8
VALUE_START = 10
FIXED_WIDTH = 20
SEPARATOR = " / "
MAX_FAST_STRING = 68

TEMPLATE_SITE = "tmp"
TEMPLATE_INST = "i"
"""The pool's frames are drawn under the shortest names, so no stamped card's comment was cut
for a long value (header.py cuts comments to fit; a user's longer names are cut here the same way)."""

TEMPLATE_TIME = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
"""Every time card is stamped over; a fixed one makes a pool's bytes depend on its seed alone."""

STAMPED_KEYS = (
    "OBSERVAT", "SITEID", "SITE", "TELESCOP", "INSTRUME", "ORIGNAME", "FRAMENUM",
    "DATE", "DATE-OBS", "DAY-OBS", "MJD-OBS", "JD-START", "MJD-MID",
    "OBJECT", "RA", "DEC", "RAHRS", "RADEG", "DECDEG",
    "ALTITUDE", "AZIMUTH", "ZENITH", "AIRMASS", "CRVAL1", "CRVAL2",
)
"""Every card of `header.make_header` that changes between two exposures of one camera."""

DEFAULT_POOL_SIZE = 4
MAX_POOL_SIZE = 64


class Exposed(Protocol):
    """One file of an exposure ready to send: its name and its bytes."""

    name: FileName
    data: bytes | bytearray


@dataclass(frozen=True)
class LoadFile:
    name: FileName
    data: bytes | bytearray


@dataclass(frozen=True)
class _TemplateFile:
    """One pooled file: its bytes as drawn, where its stamped cards sit, how it is finished."""

    level: str
    ext: str
    data: bytes
    offsets: tuple[tuple[str, int], ...]
    bz2: bool = False


@dataclass(frozen=True)
class _Template:
    files: tuple[_TemplateFile, ...]
    seed: int
    comments: dict[str, str]
    exptime: float
    kind: str


@dataclass(frozen=True)
class PoolKey:
    """What decides a pool: two users with the same key share one (per process)."""

    camera: CameraProfile
    frame: FrameSpec
    files: str
    fits_format: str
    data_type: str
    size: int
    seed: int


@dataclass
class FramePool:
    """`size` pre-drawn exposures of one camera; `make` names and stamps one of them."""

    key: PoolKey
    templates: list[_Template] = field(default_factory=list)

    @classmethod
    def build(cls, key: PoolKey) -> FramePool:
        """Draw every frame of the pool now (the expensive part, once per process and camera)."""
        if not isinstance(key.size, int) or not 1 <= key.size <= MAX_POOL_SIZE:
            raise UsageError(f"pool size {key.size!r} is not allowed: use 1 to {MAX_POOL_SIZE}")
        pool = cls(key)
        for index in range(key.size):
            pool.templates.append(_draw(key, frame_seed(key.seed, index)))
        return pool

    def make(self, site: str, inst: str, number: int, date_obs: dt.datetime, pointing_seed: int) -> list[LoadFile]:
        """The files of exposure `number` of camera site/inst, taken at `date_obs`, in upload order.

        The pointing is drawn from `pointing_seed` (above 30° at `date_obs`, as `up` draws it).
        """
        template = self.templates[number % len(self.templates)]
        spec = ExposureSpec(
            site=site, inst=inst, number=number, data_type=self.key.data_type, files=self.key.files,
            date_obs=date_obs, camera=self.key.camera, frame=self.key.frame, seed=template.seed,
            fits_format=self.key.fits_format,
        )
        images = stamped_cards(spec, template.comments, template.exptime, template.kind, pointing_seed)
        name = FileName(site=site, inst=inst, date=images.pop("_night").decode(), number=number,
                        data_type=self.key.data_type, level="00", ext="txt")
        out = []
        for file in template.files:
            data = bytearray(file.data)
            for key, offset in file.offsets:
                data[offset:offset + CARD] = images[key]
            finished: bytes | bytearray = bz2.compress(data, BZ2_LEVEL) if file.bz2 else data
            out.append(LoadFile(name.with_(level=file.level, ext=file.ext), finished))
        return out


def frame_seed(seed: int, index: int) -> int:
    """The seed of pooled frame `index`: distinct per index, fixed by the pool's seed."""
    return (seed * 1_000_003 + index) % (MAX_SEED + 1)


def make_fresh(key: PoolKey, site: str, inst: str, number: int, date_obs: dt.datetime, seed: int) -> list[LoadFile]:
    """`--fresh-frames`: draw this exposure's own pixels, as `up` does (a core's worth of work)."""
    spec = ExposureSpec(
        site=site, inst=inst, number=number, data_type=key.data_type, files=key.files, date_obs=date_obs,
        camera=key.camera, frame=key.frame, seed=seed, fits_format=key.fits_format,
    )
    return [LoadFile(p.name, p.data) for p in make_exposure(spec).products]


def stamped_cards(
    spec: ExposureSpec, comments: dict[str, str], exptime: float, kind: str, pointing_seed: int
) -> dict[str, bytes]:
    """The 80-byte card image of every stamped key for `spec`, as header.make_header writes it.

    Also `_night`: the observing night (the file name's date). Mirrors make_header's formulas for
    these keys only; tests/load/test_pool.py compares the result with make_header card by card.
    """
    site = spec.site_profile
    assert site is not None  # ExposureSpec fills it in
    observation = make_observation(spec.date_obs, site, pointing_seed)
    start = observation.date_obs
    middle = start + dt.timedelta(seconds=exptime / 2)
    original = FileName(site=spec.site, inst=spec.inst, date=observation.day_obs, number=spec.number,
                        data_type=spec.data_type, level="00", ext="fits")
    when = format_date_obs(start)
    values: dict[str, object] = {
        "OBSERVAT": site.name, "SITEID": spec.site, "SITE": site.name, "TELESCOP": f"{spec.site}-tel1",
        "INSTRUME": spec.inst, "ORIGNAME": str(original), "FRAMENUM": spec.number,
        "DATE": when, "DATE-OBS": when, "DAY-OBS": observation.day_obs,
        "MJD-OBS": mjd(start), "JD-START": mjd(start) + MJD_TO_JD, "MJD-MID": mjd(middle),
        "OBJECT": object_name(observation.ra, observation.dec, kind),
        "RA": format_ra(observation.ra), "DEC": format_dec(observation.dec),
        "RAHRS": round(observation.ra / DEGREES_PER_HOUR, 8), "RADEG": round(observation.ra, 8),
        "DECDEG": round(observation.dec, 8),
        "ALTITUDE": round(observation.altitude, 5), "AZIMUTH": round(observation.azimuth, 5),
        "ZENITH": round(90.0 - observation.altitude, 5), "AIRMASS": round(observation.airmass, 5),
        "CRVAL1": observation.ra, "CRVAL2": observation.dec,
    }
    images = {key: card_image(key, values[key], comments.get(key, "")) for key in STAMPED_KEYS}
    images["_night"] = observation.day_obs.encode()
    return images


def card_image(key: str, value: object, comment: str) -> bytes:
    """`KEY = value / comment` as 80 bytes, the comment cut to fit as header.py cuts it.

    Written here in FITS fixed format (what astropy writes for these values) because building an
    astropy Card costs ~30 µs of configuration lookups, which for 25 cards was 80% of a stamped
    exposure; tests/load/test_pool.py checks the images against astropy's byte for byte. A value
    of any other shape goes through astropy.
    """
    if isinstance(value, str) and value and len(value) <= MAX_FAST_STRING and "'" not in value:
        quoted = "'" + f"{value:8}" + "'"
        text = f"{quoted:20}"
    elif isinstance(value, int) and not isinstance(value, bool):
        text = f"{value:>20d}"
    elif isinstance(value, float) and len(formatted := str(value).replace("e", "E")) <= FIXED_WIDTH:
        text = f"{formatted:>20}"
    else:
        return _astropy_card(key, value, comment)
    room = CARD - VALUE_START - len(text) - len(SEPARATOR)
    tail = f"{SEPARATOR}{comment[:room]}" if comment and room > 0 else ""
    image = f"{key:8}= {text}{tail}"
    if len(key) > KEY or len(image) > CARD:
        return _astropy_card(key, value, comment)
    return f"{image:80}".encode("ascii")


def _astropy_card(key: str, value: object, comment: str) -> bytes:
    """Any other value: astropy formats it; the comment gets what its value leaves of 80 columns."""
    used = max(len(fits.Card(key, value).image.rstrip()), VALUE_START + FIXED_WIDTH)
    room = CARD - used - len(SEPARATOR)
    image = fits.Card(key, value, comment[:room] if room > 0 else "").image
    if len(image) != CARD:
        raise UsageError(f"header card {key} = {value!r} does not fit one 80-character card")
    return image.encode("ascii")


def card_offsets(data: bytes, keys: Iterable[str]) -> tuple[tuple[str, int], ...]:
    """Where each of `keys` sits in the FITS headers of `data` (every HDU; a `.txt` is one header).

    Walks the file HDU by HDU: header cards to END, then past the data by the header's own
    BITPIX, NAXISn, PCOUNT and GCOUNT, so pixel bytes are never mistaken for a card.
    """
    wanted = set(keys)
    found: list[tuple[str, int]] = []
    position = 0
    while position < len(data):
        sizes: dict[str, int] = {}
        card_at = position
        while True:
            if card_at + CARD > len(data):
                return tuple(found)
            card = data[card_at:card_at + CARD]
            key = card[:KEY].decode("ascii", "replace").strip()
            if key == "END":
                break
            if key in wanted and card[KEY:VALUE_START] == b"= ":
                found.append((key, card_at))
            if key in ("BITPIX", "PCOUNT", "GCOUNT") or key.startswith("NAXIS"):
                sizes[key] = int(card[VALUE_START:].split(b"/")[0])
            card_at += CARD
        header_end = (card_at // BLOCK + 1) * BLOCK
        axes = [sizes.get(f"NAXIS{i}", 0) for i in range(1, sizes.get("NAXIS", 0) + 1)]
        pixels = 1
        for n in axes:
            pixels *= n
        pixels = pixels if axes else 0
        nbytes = abs(sizes.get("BITPIX", 8)) // 8 * sizes.get("GCOUNT", 1) * (sizes.get("PCOUNT", 0) + pixels)
        position = header_end + -(-nbytes // BLOCK) * BLOCK
    return tuple(found)


def _draw(key: PoolKey, seed: int) -> _Template:
    spec = ExposureSpec(
        site=TEMPLATE_SITE, inst=TEMPLATE_INST, number=0, data_type=key.data_type, files=key.files,
        date_obs=TEMPLATE_TIME, camera=key.camera, site_profile=get_site(TEMPLATE_SITE), frame=key.frame,
        seed=seed, fits_format=key.fits_format,
    )
    exposure = make_exposure(spec)
    header = exposure.header
    files = []
    for product in exposure.products:
        data = product.data
        packed = product.name.ext == EXTENSIONS["bz2"]
        if packed:
            data = bz2.decompress(data)
        files.append(_TemplateFile(product.name.level, product.name.ext, data,
                                   card_offsets(data, STAMPED_KEYS), packed))
    comments = {key: header.comments[key] for key in STAMPED_KEYS if key in header}
    exptime = float(header["EXPTIME"])
    return _Template(tuple(files), seed, comments, exptime, key.frame.kind)
