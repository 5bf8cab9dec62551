"""Every default a user meets, in one import-light place.

The parser's help text and the option records (`BatchOptions`, `SendOptions`, `Destination`)
both read these names, so `-h` can never promise a default the code does not use, and a library
caller gets the same run as the command line with no flags. Only the standard library is
imported here: `send-test-images -h` reads this module and must stay fast and free of numpy.

`ExposureSpec`, `FrameSpec`, the camera and site profiles and the client read their defaults
from here too, so a library caller building a spec by hand gets the same values
(tests/cli/test_options.py checks they agree).
"""

from __future__ import annotations

import os
from pathlib import Path

# --- what to generate (`up`, `make`) --------------------------------------------------------------

SITE = "tst"
INST = "inst"
DATA_TYPE = "e"
"""Uppercased when names are made: `e` -> `E`, as the original up.py did."""
FILES = "hjtfF"
REPEAT = 1
SMARTSTACK = 1
CAMERA = "sq4k"
IMAGE = "sky"
FRAME = "light"
EXPTIME = 30.0
"""Seconds; a bias is read out as 0 s whatever this says."""
FILTER = "L"
SEEING = 2.5
"""Seeing FWHM in arcsec."""
FITS_FORMAT = "fz"
USER = "send-test-images"
STARS = "catalogue"
"""Light frames take their bright stars from the real sky (Gaia DR3), so they plate-solve."""

# --- where to send (`up`) -------------------------------------------------------------------------

API = "local"
"""The embedded local site: every public stage writes to the live bucket (see sending/targets.py)."""
S3_DIRECTORY = "data"
CHANNEL = 1

# --- how to send (`up`, `resume`) -------------------------------------------------------------------

CONCURRENCY = 8
"""Parallel uploads: enough to hide the two round trips per file; a real site runs several."""
WORKERS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
"""Generator processes: generation is CPU-bound, one per CPU this process may use."""
TIMEOUT = 30.0
"""Seconds of silence before a request counts as failed. Real sites use 10 s for small files; a
laptop on a bad link needs more."""
RETRIES = 4
"""Extra tries after the first, for failures that may pass."""
INGEST_WAIT = 5.0
"""When `up` started its own local site, how long it waits for ingestion before stopping it."""
DURATION_BLOCK = 100
"""Exposures whose numbers a timed run (--duration) reserves at a time."""

# --- `make` and `serve` -----------------------------------------------------------------------------

MAKE_OUT = Path("generated")
MAKE_NUMBER = 1
SERVE_HOST = "127.0.0.1"
SERVE_PORT = 0
"""0 = a free port, printed on start."""
