"""One exposure -> the files a site uploads for it, in the order it uploads them.

A spec is checked completely when it is made (`spec.py`), so by the time it gets here every
value is known good. `make_products` is pure apart from CPU: the same spec gives the same bytes, because the time,
the seed and the pointing are all fixed in the spec.

Upload order: the header `.txt` first (the service ingests it to create the image record), then
the JPGs (an image is listed once its `…10.jpg` exists), then the FITS files, small before large.

The truth catalogue of injected stars is *not* an upload: `make_exposure(spec).truth` holds it
(an ECSV file and its local file name) when `spec.truth` is set, and `make_products` returns only
what goes to Photon Ranch.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from send_test_images.exposure.binning import bin_header_text, bin_pixels, small_bin_factor
from send_test_images.exposure.fitsfiles import EXTENSIONS, archive_fz_bytes, fits_bytes
from send_test_images.exposure.header import make_header_text, measure_frame
from send_test_images.exposure.measure import sample_histogram, statistics_step
from send_test_images.exposure.naming import FileName
from send_test_images.exposure.observation import Observation
from send_test_images.exposure.preview import (
    DEFAULT_QUALITY,
    jpeg_bytes,
    make_preview,
    make_thumbnail,
)
from send_test_images.exposure.sky.field import place_catalogue
from send_test_images.exposure.sky.pointings import make_pointing, uses_catalogue
from send_test_images.exposure.spec import ExposureSpec
from send_test_images.exposure.synth import Frame, make_frame, sketch_frame
from send_test_images.exposure.synth.stars import PlacedStars

LARGE_LEVEL = "00"
SMALL_LEVEL = "10"
THUMBNAIL_LEVEL = "11"

TRUTH_SUFFIX = "-truth.ecsv"
"""Local file name of the truth catalogue: the base filename plus this (never uploaded)."""


@dataclass(frozen=True)
class Product:
    """One file to upload: its Photon Ranch name and exactly the bytes to send."""

    name: FileName
    data: bytes


@dataclass(frozen=True)
class TruthFile:
    """The injected stars (x, y 0-based pixels; ra, dec degrees; flux, mag, peak, snr, ...)."""

    name: str
    data: bytes
    table: Table


@dataclass(frozen=True)
class ArchiveFile:
    """The large FITS as a real site archives it (`--like ptr-observatory`, `-f F`): float32
    `.fits.fz` under its ORIGNAME. It goes to the LCO archive, not to Photon Ranch, so it is
    written where files are kept (`make`, `up --out`) and never uploaded."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Exposure:
    """Everything made for one spec: the uploads and what a test or a user may want besides."""

    products: list[Product]
    header_text: bytes  # the `.txt`: 80-character cards, END, padded
    observation: Observation
    truth: TruthFile | None
    archive: ArchiveFile | None = None
    parsed: fits.Header | None = field(default=None, repr=False, compare=False)

    @property
    def header(self) -> fits.Header:
        """The header as astropy reads it. Parsing costs ~2.5 ms, as much as writing it, and
        sending needs only the text, so it is parsed only when asked (or when the archive
        file or the truth needed it anyway)."""
        return self.parsed if self.parsed is not None else fits.Header.fromstring(self.header_text.decode("ascii"))


def make_products(spec: ExposureSpec) -> list[Product]:
    """The files to upload for `spec`, in upload order (txt, jpgs, small FITS, large FITS)."""
    return make_exposure(spec).products


def make_exposure(spec: ExposureSpec) -> Exposure:
    """Draw the frame, write its header, then every requested file; truth only if asked.

    A header sent alone draws no frame: it is written from the frame's sketch (the same
    stars, no pixels) with its pixel measurements predicted (header MEASURED = 'predicted').
    """
    observation = pointing(spec)
    placed = placed_stars(spec, observation)
    name = FileName(
        site=spec.site, inst=spec.inst, date=observation.day_obs, number=spec.number,
        data_type=spec.data_type, level=LARGE_LEVEL, ext="txt",
    )
    if not spec.draws_pixels:
        text = make_header_text(spec, sketch_frame(spec.frame, spec.camera, seed=spec.seed, placed=placed),
                                observation)
        products = [Product(name, text)] if "h" in spec.files else []
        return Exposure(products=products, header_text=text, observation=observation, truth=None)
    previews = "j" in spec.files or "t" in spec.files
    stacked = spec.smartstack is not None and spec.smartstack[1] > 0 and previews
    frame = make_frame(spec.frame, spec.camera, seed=spec.seed, placed=placed, keep_expected=stacked)
    # the header's statistics and the preview's stretch count the same pixels when both sample
    # every second one (768² and smaller): counted once here; each uses it only at its own step
    histogram = sample_histogram(frame.pixels, statistics_step(frame.pixels.shape))
    text = make_header_text(spec, frame, observation, measured=measure_frame(spec, frame, histogram=histogram))
    products: list[Product] = []
    if "h" in spec.files:
        products.append(Product(name, text))
    if previews:
        shown = running_stack(frame, spec.smartstack[1] + 1) if stacked and spec.smartstack else frame.pixels
        preset = spec.preset
        picture = make_preview(shown, spec.camera.small_size,
                               height=preset.preview_height if preset else None,
                               histogram=histogram if shown is frame.pixels else None)
        if "j" in spec.files:
            quality = preset.jpeg_quality if preset else DEFAULT_QUALITY
            products.append(Product(name.with_(level=SMALL_LEVEL, ext="jpg"), jpeg_bytes(picture, quality)))
        if "t" in spec.files:
            thumbnail = jpeg_bytes(make_thumbnail(picture))
            products.append(Product(name.with_(level=THUMBNAIL_LEVEL, ext="jpg"), thumbnail))
    archived = spec.preset is not None and spec.preset.archive_large and "F" in spec.files
    products.extend(_fits_products(spec, frame, name, text,
                                   files=spec.files.replace("F", "") if archived else spec.files))
    # parsing the header costs as much as writing it: only the archive and the truth need it
    header = fits.Header.fromstring(text.decode("ascii")) if archived or spec.truth else None
    archive = truth = None
    if header is not None and archived:
        archive = ArchiveFile(str(header["ORIGNAME"]), archive_fz_bytes(frame.pixels, header))
    if header is not None and spec.truth:
        truth = make_truth(frame, header, name.base + TRUTH_SUFFIX)
    return Exposure(products=products, header_text=text, observation=observation, truth=truth,
                    archive=archive, parsed=header)


def draw_frame(spec: ExposureSpec, *, keep_expected: bool = False) -> tuple[Frame, Observation]:
    """The frame's pixels and its pointing, as make_exposure draws them (for remaking and timing)."""
    observation = pointing(spec)
    frame = make_frame(spec.frame, spec.camera, seed=spec.seed, placed=placed_stars(spec, observation),
                       keep_expected=keep_expected)
    return frame, observation


def pointing(spec: ExposureSpec) -> Observation:
    """Where and when the exposure is taken: before any star is drawn, since catalogue stars sit
    where the sky has them at that pointing (sky/field.py), and it points where a solver finds
    enough of them (sky/pointings.py)."""
    return make_pointing(
        spec.date_obs, spec.site_profile, spec.seed, spec.camera, spec.frame, ra=spec.ra, dec=spec.dec
    )


def placed_stars(spec: ExposureSpec, observation: Observation) -> PlacedStars | None:
    """The catalogue stars of a light frame of stars at this pointing, through the header's WCS."""
    if not uses_catalogue(spec.frame):
        return None
    camera = spec.camera
    return place_catalogue(camera.width, camera.height, camera.pixel_scale, observation.ra, observation.dec,
                           spec.frame.filter, site_style=spec.header_style == "site")


def running_stack(frame: Frame, frames: int) -> np.ndarray:
    """What the site's smartstack shows after `frames` sub-frames: the same sky, its noise down
    by sqrt(frames). A real site sends, for each sub-frame, the JPG of the stack so far
    (ptr-observatory `subprocesses/SmartStackprocess.py`), so the last JPG is the deepest. The
    frames of a stack share their star field (FrameSpec.field_seed), so the mean of the first
    `frames` of them is this frame's noiseless expectation plus its own noise / sqrt(frames):
    one pass over this frame instead of redrawing every earlier one.
    """
    if frame.expected is None or frames <= 1:
        return frame.pixels
    noise = frame.pixels.astype(np.float32)
    noise -= frame.expected
    noise *= np.float32(1.0 / np.sqrt(frames))
    noise += frame.expected
    return np.clip(np.rint(noise), 0, np.iinfo(np.uint16).max).astype(np.uint16)


def _fits_products(spec: ExposureSpec, frame: Frame, name: FileName, text: bytes, *, files: str) -> list[Product]:
    """Small (binned) then large FITS of `files`; a camera already at preview size writes the
    file once. Both are written from the header's text (`text`), never parsing it."""
    ext = EXTENSIONS[spec.fits_format]
    factor = small_bin_factor(frame.pixels.shape, spec.camera.small_size)
    large: bytes | None = None
    out: list[Product] = []
    if "f" in files:
        if factor == 1:  # binning by one changes neither pixels nor header
            large = fits_bytes(frame.pixels, None, spec.fits_format, text=text)
            small = large
        else:
            binned = bin_pixels(frame.pixels, factor)
            small = fits_bytes(binned, None, spec.fits_format, text=bin_header_text(text, factor, binned.shape))
        out.append(Product(name.with_(level=SMALL_LEVEL, ext=ext), small))
    if "F" in files:
        if large is None:
            large = fits_bytes(frame.pixels, None, spec.fits_format, text=text)
        out.append(Product(name.with_(level=LARGE_LEVEL, ext=ext), large))
    return out


def make_truth(frame: Frame, header: fits.Header, name: str) -> TruthFile:
    """The frame's star list with sky positions from the header's WCS, as ECSV."""
    table = Table(frame.truth, copy=True)
    wcs = WCS(_celestial(header))
    x = np.asarray(table["x"], dtype=float) if len(table) else np.zeros(0)
    y = np.asarray(table["y"], dtype=float) if len(table) else np.zeros(0)
    ra, dec = wcs.all_pix2world(x, y, 0)
    table["ra"] = ra
    table["dec"] = dec
    table["ra"].unit = "deg"
    table["dec"].unit = "deg"
    buffer = io.StringIO()
    table.write(buffer, format="ascii.ecsv")
    return TruthFile(name=name, data=buffer.getvalue().encode("utf-8"), table=table)


def _celestial(header: fits.Header) -> fits.Header:
    """Only the WCS cards: astropy.wcs would otherwise 'fix' unrelated keys and warn about it."""
    keys = ("WCSAXES", "CTYPE1", "CTYPE2", "CUNIT1", "CUNIT2", "CRVAL1", "CRVAL2",
            "CRPIX1", "CRPIX2", "CDELT1", "CDELT2", "RADESYS", "EQUINOX")
    return fits.Header([(key, header[key]) for key in keys if key in header])
