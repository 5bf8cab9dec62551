"""The files `POST /download` makes from a stored `.fits.fz`, as bytes in, bytes out (pure).

The real service converts in its download Lambda (LCOGT/photonranch-api `api/s3_helpers.py`):
- `fits_from_fz` is `create_fitsfromfz`: the first extension's data and header as a primary HDU
  (`verify('fix')` first), so a viewer without tile-compression support opens it;
- `tiff_from_fz` is `create_tiff` + `to_bz2`: the first extension's data as a TIFF, `arcsinh`
  stretched into the full 16-bit range (any other stretch: the data as it is), the header's
  FILTER in the TIFF's description, the whole file bz2-compressed.
Anything that is not a tile-compressed FITS with such an extension raises, as it does there.
"""

from __future__ import annotations

import bz2
import io
import json

import numpy as np
from astropy.io import fits
from PIL import Image

ARCSINH = "arcsinh"
FULL_16_BIT = 65535.0


def fits_from_fz(data: bytes) -> bytes:
    with fits.open(io.BytesIO(data)) as hdus:
        hdus.verify("fix")
        clean = fits.PrimaryHDU(data=np.asarray(hdus[1].data), header=hdus[1].header)
        out = io.BytesIO()
        clean.writeto(out)
    return out.getvalue()


def tiff_from_fz(data: bytes, stretch: str) -> tuple[str, bytes]:
    """(the image's FILTER, the `.tif.bz2` bytes); KeyError when the header has no FILTER."""
    with fits.open(io.BytesIO(data)) as hdus:
        header = hdus[1].header
        metadata = {"PTRName": "thename", "FILTER": header["FILTER"]}
        pixels = np.asarray(hdus[1].data)
    if stretch == ARCSINH:
        stretched = np.arcsinh(pixels.astype(np.float64))
        stretched -= stretched.min()
        top = stretched.max()
        pixels = (stretched * (FULL_16_BIT / top) if top > 0 else stretched).astype(np.uint16)
    elif pixels.dtype.kind == "f":
        pixels = pixels.astype(np.float32)
    elif pixels.dtype.kind in "iu" and pixels.dtype.itemsize <= 2:
        pixels = pixels.astype(np.uint16 if pixels.dtype.kind == "u" else np.int32)
    else:
        pixels = pixels.astype(np.int32)
    description = json.dumps({"shape": list(pixels.shape), **metadata})
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="TIFF", description=description)
    return str(metadata["FILTER"]), bz2.compress(out.getvalue())
