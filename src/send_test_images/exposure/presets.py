"""`--like NAME`: send exactly what a given kind of real site sends, as one typed record.

Today one preset, `ptr-observatory`: a Photon Ranch site running LCOGT/ptr-observatory (read at
commit f942521, 2025-07). What it does, and where the site code says so:

- per light exposure it uploads `…-EX00.txt` (the header, written by
  `subprocesses/photometry_process.py` after it has added FWHM, SEPSKY, NSTARS) and `…-EX10.jpg`
  to `data/` (`devices/camera.py`, names built around `text_name`/`jpeg_name`), nothing else;
  large FITS go to the LCO archive as `.fits.fz` under their ORIGNAME
  (`subprocesses/post_exposure_subprocess.py`), not to Photon Ranch;
- the large FITS (`-f F` under the preset) is the archive's: float32, Rice tile-compressed by
  astropy's defaults, named by its ORIGNAME (`{obs}-{camera}_{frame type}_{filter}-{day}-{seq}-EX00.fits.fz`,
  `devices/camera.py` `raw_name00`), written by `subprocesses/fz_archive_file.py` and sent by
  `obs.py`'s `lco_upload_queue_worker` to the LCO archive, never to Photon Ranch: `make` writes
  it, `up` keeps it in `--out` and uploads nothing for it;
- the JPG is resized to 900 px (`subprocesses/mainjpeg.py`; with `squash_on_x_axis` a frame
  keeps its aspect and is 900 px high) and saved with Pillow's default quality, 75;
- one upload thread takes files first in first out (`obs.py`, the upload queue worker), so
  files arrive one at a time in order: concurrency 1;
- a smartstack's id is the clock at its start, `%d%m%y%H%M%S` (`devices/camera.py`), digits
  only (the web UI folds only such ids), SSTKLEN a float (`np.ceil`), SSTKNUM from 0;
- info images are JPG only: the frame's own `…-EX10.jpg`, sent again with `s3_directory =
  info-images` by the fast upload thread (`obs.py` `enqueue_for_fastAWS` and `fast_to_aws`):
  channel 1 after a plate solve (`obs.py`, the platesolve thread, with the `jpeg_name` that
  `devices/camera.py` hands to `to_platesolve`), channel 2 during a focus run
  (`devices/sequencer.py`, `text_name.replace('EX00.txt', 'EX10.jpg')`, after
  `construct_focus_jpeg_and_save` pasted a 550 x 400 focus-curve plot into its corner);
- the header uses the site's spelling and values: IMAGETYP/OBSTYPE `EXPOSE` for a light,
  XBINING/YBINING, CCDSTEMP/CCDATEMP, SITEID = the enclosure (WEMA) code, ORIGNAME
  `{obs}-{camera}_{frame type}_{filter}-{day}-{seq}-EX00.fits.fz` (header.py, the table in
  docs/real-site-headers.md).

The planner (`exposure/plan.py`), the products and the sender read the record; nothing else
decides these things, so a second preset is one more entry in PRESETS.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from send_test_images.errors import UsageError

CLOCK_ID_FORMAT = "%d%m%y%H%M%S"
"""ptr-observatory's smartstack id: the local clock when the stack starts, digits only."""


@dataclass(frozen=True)
class Preset:
    """Everything `--like NAME` sets. Each field is the default an option takes under it."""

    name: str
    files: str  # letters of hjtfF
    data_type: str  # the TT of the file names
    camera: str  # a profiles.CAMERAS name
    preview_height: int  # the 10.jpg's height in pixels (its width follows the frame's aspect)
    jpeg_quality: int
    concurrency: int  # uploads in flight: 1 = one FIFO stream
    smartstack_ids: str  # "clock" (%d%m%y%H%M%S) or "number" (stk + file number, the default)
    header_style: str  # "site" (the real spelling and values) or "default"
    info_files: str  # letters of hjtfF sent to info-images (`-s3 info-images`)
    archive_large: bool  # `F` is the archive's float32 `.fits.fz` under ORIGNAME, kept, not uploaded


PTR_OBSERVATORY = Preset(
    name="ptr-observatory",
    files="hj",
    data_type="EX",
    camera="qhy600",
    preview_height=900,
    jpeg_quality=75,
    concurrency=1,
    smartstack_ids="clock",
    header_style="site",
    info_files="j",
    archive_large=True,
)

PRESETS: dict[str, Preset] = {preset.name: preset for preset in (PTR_OBSERVATORY,)}


def get_preset(name: str) -> Preset:
    """The preset called `name`, or a UsageError naming the ones there are."""
    if name not in PRESETS:
        raise UsageError(f"preset {name!r} is not known: use one of {', '.join(PRESETS)}")
    return PRESETS[name]


def clock_stack_id(start: dt.datetime) -> str:
    """A smartstack id as ptr-observatory makes it: `%d%m%y%H%M%S` of the stack's start (UTC
    here, where the site uses its computer's clock; only uniqueness and digits matter)."""
    return start.strftime(CLOCK_ID_FORMAT)
