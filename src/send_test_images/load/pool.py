"""Cheap exposures for load: a few frames drawn once, then only names and headers per exposure.

Drawing a frame is the expensive part of an exposure (a 768² light frame with all its files is
~18 ms of one core, a 4096² one ~320 ms: README, Performance). A Locust worker that drew every
exposure afresh would spend its core on pixels instead of on sending, and fifty sites at real
cadence would need a rack of workers. So a worker draws a small pool of distinct frames per
camera once, at start (seeded: the same seed, the same pool), and for each exposure only:

- names the files (`{site}-{inst}-{night}-{number}-{TT}{RR}.{ext}`, the user's own camera);
- writes that exposure's header cards with `exposure/header.py`'s own `header_card_images`
  (its pixel measurements taken once, when the frame was drawn: they depend on the pixels
  alone) and stamps every card whose image differs from the drawn frame's into the `.txt` and
  the FITS headers, by overwriting those 80-byte cards in place. Which cards those are is not a
  list kept here: it is whatever the header code makes differ (names, number, times, night,
  site, pointing, target, sidereal time, mount, pier side, the recipe's HISTORY lines, ...),
  so the stamped `.txt` is exactly the header `up` would have written for those pixels and
  cannot drift from it when the header grows (tests/load/test_load_pool.py holds it to that).

The trade-off: pixels repeat every `size` exposures per worker and camera (the previews and the
FITS data of exposure n and n + size are the same; their names, times and pointing are not), the
stars do not move with the WCS centre (so they are all synthetic, never the catalogue's), and
the SEED card and the measured cards (IMG*, FWHM*, NSTARS) are the pooled frame's (true to its
pixels). That is what a load test of the upload path and of ingestion needs: distinct names,
realistic sizes and headers, at a few % of the CPU (bench/bench_load.py). `--fresh-frames` draws
every exposure afresh instead (`make_fresh`), for when the pixels themselves matter.

`.fits.bz2` files are stamped before compression, so each one is bz2-compressed again: the pool
saves the drawing, not the compression (use the default `fz` for cheap load).
"""

from __future__ import annotations

import bz2
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from send_test_images.errors import UsageError
from send_test_images.exposure.fitsfiles import BZ2_LEVEL, EXTENSIONS
from send_test_images.exposure.header import FrameMeasures, header_card_images, measure_frame
from send_test_images.exposure.naming import FileName
from send_test_images.exposure.observation import make_observation
from send_test_images.exposure.options import MAX_SEED
from send_test_images.exposure.products import make_exposure
from send_test_images.exposure.profiles import CameraProfile, get_site
from send_test_images.exposure.spec import ExposureSpec
from send_test_images.exposure.synth import Frame, FrameSketch, FrameSpec, make_frame, sketch_frame

CARD = 80
BLOCK = 2880
KEY = 8
VALUE_START = 10

TEMPLATE_SITE = "tmp"
TEMPLATE_INST = "i"
"""The names the pool's frames are drawn under; every card that depends on them is stamped."""

TEMPLATE_TIME = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
"""Every time card is stamped over; a fixed one makes a pool's bytes depend on its seed alone."""

DEFAULT_POOL_SIZE = 4
MAX_POOL_SIZE = 64

Slot = tuple[str, int]
"""A card's place in a header: its keyword and which occurrence of it (HISTORY repeats)."""


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
    """One pooled file: its bytes as drawn, where each header card sits, how it is finished."""

    level: str
    ext: str
    data: bytes
    offsets: dict[Slot, tuple[int, ...]]
    bz2: bool = False


@dataclass(frozen=True)
class _Template:
    """One drawn exposure: its files, and what writing another exposure's header for it needs.

    `frame` keeps the pixels' shape and synthesis parameters but not the pixels (a zero-strided
    stand-in: a 4096² frame would be 32 MB per pooled frame); `measured` are the real pixels'
    measurements, so `header_card_images` never looks at the stand-in's values.
    """

    files: tuple[_TemplateFile, ...]
    seed: int
    frame: Frame | FrameSketch
    measured: FrameMeasures
    images: tuple[str, ...]
    slots: tuple[Slot, ...]


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
        # a pooled frame is re-pointed for every exposure, so stars of the real sky would sit where
        # the sky has none: the pool keeps synthetic stars (`--fresh-frames` gets the real sky)
        key = replace(key, frame=replace(key.frame, stars="synthetic"))
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
        assert spec.site_profile is not None  # ExposureSpec fills it in
        observation = make_observation(spec.date_obs, spec.site_profile, pointing_seed)
        changed = stamped_cards(template, header_card_images(
            spec, template.frame, observation, measured=template.measured))
        name = FileName(site=site, inst=inst, date=observation.day_obs, number=number,
                        data_type=self.key.data_type, level="00", ext="txt")
        out = []
        for file in template.files:
            data = bytearray(file.data)
            for slot, image in changed:
                for offset in file.offsets.get(slot, ()):
                    data[offset:offset + CARD] = image
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


def stamped_cards(template: _Template, images: list[str]) -> list[tuple[Slot, bytes]]:
    """The cards of `images` (one exposure's header for the template's pixels) that differ from
    the drawn frame's, with their slots: what must be overwritten to make that exposure.

    Stamping in place needs the same cards in the same order; a header whose layout changed
    (a HISTORY value long enough to take a second line, say) cannot be stamped, and is refused
    rather than sent wrong.
    """
    if len(images) != len(template.images) or any(
        new[:KEY] != old[:KEY] for new, old in zip(images, template.images, strict=True)
    ):
        raise UsageError("this exposure's header has other cards than its pooled frame's: "
                         "use --fresh-frames for it")
    return [(slot, new.encode("ascii"))
            for slot, new, old in zip(template.slots, images, template.images, strict=True) if new != old]


def card_slots(images: Iterable[str]) -> tuple[Slot, ...]:
    """Each card's (keyword, occurrence) in a header's card images, in order."""
    seen: dict[str, int] = {}
    slots = []
    for image in images:
        key = image[:KEY].strip()
        slots.append((key, seen.get(key, 0)))
        seen[key] = seen.get(key, 0) + 1
    return tuple(slots)


def card_offsets(data: bytes, keys: Iterable[str]) -> tuple[tuple[str, int], ...]:
    """Where each value card of `keys` sits in the FITS headers of `data` (every HDU)."""
    wanted = set(keys)
    return tuple((key, at) for _, key, at, card in _header_cards(data)
                 if key in wanted and card[KEY:VALUE_START] == b"= ")


def slot_offsets(data: bytes) -> dict[Slot, tuple[int, ...]]:
    """Where every card of `data`'s FITS headers sits, by slot; a slot in several HDUs (the
    primary and an extension) has an offset in each. Slots count per HDU, as `card_slots` does."""
    found: dict[Slot, list[int]] = {}
    seen: dict[tuple[int, str], int] = {}
    for hdu, key, at, _ in _header_cards(data):
        occurrence = seen.get((hdu, key), 0)
        seen[(hdu, key)] = occurrence + 1
        found.setdefault((key, occurrence), []).append(at)
    return {slot: tuple(offsets) for slot, offsets in found.items()}


def _header_cards(data: bytes) -> Iterator[tuple[int, str, int, bytes]]:
    """(HDU index, keyword, offset, card) of every header card of `data` before each END.

    Walks the file HDU by HDU: header cards to END, then past the data by the header's own
    BITPIX, NAXISn, PCOUNT and GCOUNT, so pixel bytes are never mistaken for a card.
    """
    position = 0
    hdu = 0
    while position < len(data):
        sizes: dict[str, int] = {}
        card_at = position
        while True:
            if card_at + CARD > len(data):
                return
            card = data[card_at:card_at + CARD]
            key = card[:KEY].decode("ascii", "replace").strip()
            if key == "END":
                break
            yield hdu, key, card_at, card
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
        hdu += 1


def _draw(key: PoolKey, seed: int) -> _Template:
    spec = ExposureSpec(
        site=TEMPLATE_SITE, inst=TEMPLATE_INST, number=0, data_type=key.data_type, files=key.files,
        date_obs=TEMPLATE_TIME, camera=key.camera, site_profile=get_site(TEMPLATE_SITE), frame=key.frame,
        seed=seed, fits_format=key.fits_format,
    )
    exposure = make_exposure(spec)
    # as make_exposure does: a header alone is written from the frame's sketch, no pixels
    frame = (make_frame(spec.frame, spec.camera, seed=spec.seed) if spec.draws_pixels
             else sketch_frame(spec.frame, spec.camera, seed=spec.seed))
    measured = measure_frame(spec, frame)
    images = tuple(header_card_images(spec, frame, exposure.observation, measured=measured))
    files = []
    for product in exposure.products:
        data = product.data
        packed = product.name.ext == EXTENSIONS["bz2"]
        if packed:
            data = bz2.decompress(data)
        files.append(_TemplateFile(product.name.level, product.name.ext, data, slot_offsets(data), packed))
    stand_in = frame if isinstance(frame, FrameSketch) else Frame(
        pixels=np.broadcast_to(np.zeros((), frame.pixels.dtype), frame.pixels.shape),
        truth=frame.truth[:0], params=dict(frame.params))
    return _Template(tuple(files), seed, stand_in, measured, images, card_slots(images))
