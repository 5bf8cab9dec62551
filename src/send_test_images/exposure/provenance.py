"""How a frame was made, written into its header so the header alone can make it again.

The earlier cards (`HIERARCH SYNTH SEEING_FWHM = 2.5`) were valid FITS, but the real service
reads a header in 80-byte slices with the key in the first 8 characters (protocol §3), so all
of them came out as one junk key `HIERARCH`. They also held the synthesis *results*, not what
was asked for, and the run's seed, not the frame's: `make --seed <SEED>` drew other pixels.

Now provenance is short keys the parser reads cleanly (SEED = the frame's own seed, SYNTHVER,
FIELDSD for a smartstack's shared star field, PROGRAM, PROGVER) plus HISTORY cards, one per
value, `synth frame.seeing_fwhm=2.5`: every field of the exposure spec, the frame spec, the
camera and the site profile, so `exposure_spec_from_header` rebuilds the exact spec and
`make_products` the exact bytes. Values are written with `repr`, which round-trips floats
exactly; one longer than a card continues on the next as `synth name+rest`.
"""

from __future__ import annotations

import bz2
import dataclasses
import datetime as dt
import io
import re
import types
import typing

import numpy as np
from astropy.io import fits

from send_test_images.errors import UsageError
from send_test_images.exposure.presets import get_preset
from send_test_images.exposure.profiles import CameraProfile, SiteProfile
from send_test_images.exposure.spec import ExposureSpec
from send_test_images.exposure.synth import FrameSpec

PREFIX = "synth "
HISTORY_TEXT = 72
"""Characters of text a HISTORY card holds."""

_LINE = re.compile(r"synth (?P<name>[a-z_]+\.[a-z_]+)(?P<op>[=+])(?P<value>.*)")

SPEC_FIELDS = ("site", "inst", "number", "data_type", "files", "date_obs", "seed", "smartstack",
               "user_name", "user_id", "fits_format", "truth", "ra", "dec", "preset")
"""ExposureSpec fields written as `spec.*` (camera, site profile and frame have their own)."""

REDO_HINT = "remake: send-test-images make --from-header THIS_FILE"

LEGACY_VALUES = {"frame.stars": "synthetic"}
"""Recipe lines headers lacked before the field existed, and the value those frames were made with:
every star was synthetic before catalogue stars came."""


def history_lines(spec: ExposureSpec, params: dict[str, float | int | str]) -> list[str]:
    """The HISTORY texts for `spec`: the recipe, then the frame's synthesis results (params)."""
    values: list[tuple[str, object]] = [(f"spec.{name}", _spec_value(spec, name)) for name in SPEC_FIELDS]
    values += _fields("frame", spec.frame)
    values += _fields("camera", spec.camera)
    values += _fields("site", spec.site_profile)
    values += [(f"param.{name}", value) for name, value in sorted(params.items())]
    lines = [REDO_HINT]
    for name, value in values:
        lines.extend(_split(name, _encode(value)))
    return lines


def exposure_spec_from_header(header: fits.Header | bytes | str) -> ExposureSpec:
    """The ExposureSpec a header was made from: `make_products` of it gives the same bytes.

    Accepts a FITS header (of the `.txt`, the large or the small FITS) or the `.txt`'s text.
    """
    recipe = read_recipe(header)
    if not recipe:
        raise UsageError(
            "header has no 'HISTORY synth' cards: it was written before frames could be remade "
            "from their header; use `make --seed` with the run's seed instead"
        )
    try:
        frame = _build(FrameSpec, recipe, "frame")
        camera = _build(CameraProfile, recipe, "camera")
        site = _build(SiteProfile, recipe, "site")
        spec = {name: _decode_spec(name, recipe[f"spec.{name}"]) for name in SPEC_FIELDS}
    except KeyError as exc:
        raise UsageError(f"header's synth cards lack {exc.args[0]!r}: the header was cut or edited") from None
    return ExposureSpec(frame=frame, camera=camera, site_profile=site, **spec)  # type: ignore[arg-type]


def header_from_file(name: str, data: bytes) -> fits.Header:
    """The header in a sent file's bytes: a `.txt` is the header itself; in a `.fits.fz` or
    `.fits.bz2` (or plain `.fits`) it is the first HDU that carries the recipe."""
    if name.endswith(".txt"):
        return fits.Header.fromstring(data.decode("ascii"))
    if name.endswith(".bz2"):
        data = bz2.decompress(data)
    elif not name.endswith((".fits", ".fz")):
        raise UsageError(f"file {name!r} is not allowed: use a sent exposure's .txt, .fits.fz or .fits.bz2")
    with fits.open(io.BytesIO(data)) as hdul:
        for hdu in hdul:
            if read_recipe(hdu.header):
                return hdu.header.copy()
        return hdul[0].header.copy()


def read_recipe(header: fits.Header | bytes | str) -> dict[str, str]:
    """name -> value text of every `HISTORY synth ...` card, continuations joined."""
    if isinstance(header, bytes):
        header = header.decode("ascii")
    if isinstance(header, str):
        header = fits.Header.fromstring(header)
    recipe: dict[str, str] = {}
    for text in header.get("HISTORY", []) if "HISTORY" in header else []:
        match = _LINE.fullmatch(str(text))
        if match is None:
            continue
        name, op, value = match["name"], match["op"], match["value"]
        recipe[name] = recipe.get(name, "") + value if op == "+" else value
    return recipe


def _fields(group: str, record: object) -> list[tuple[str, object]]:
    return [(f"{group}.{f.name}", getattr(record, f.name)) for f in dataclasses.fields(record)]  # type: ignore[arg-type]


def _spec_value(spec: ExposureSpec, name: str) -> object:
    value = getattr(spec, name)
    if name == "preset":
        return value.name if value is not None else None
    return value


def _encode(value: object) -> str:
    if isinstance(value, np.generic):  # repr would say np.float64(2.5)
        value = value.item()
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, str):
        return value
    return repr(value)


def _split(name: str, text: str) -> list[str]:
    first = f"{PREFIX}{name}="
    room = HISTORY_TEXT - len(first)
    lines = [first + text[:room]]
    rest = text[room:]
    more = HISTORY_TEXT - len(f"{PREFIX}{name}+")
    while rest:
        lines.append(f"{PREFIX}{name}+{rest[:more]}")
        rest = rest[more:]
    return lines


def _build(cls: type, recipe: dict[str, str], group: str) -> typing.Any:
    hints = typing.get_type_hints(cls)
    recipe = {**{k: v for k, v in LEGACY_VALUES.items() if k.startswith(f"{group}.")}, **recipe}
    return cls(**{f.name: _decode(recipe[f"{group}.{f.name}"], hints[f.name])
                  for f in dataclasses.fields(cls)})


def _decode(text: str, hint: object) -> object:
    """`text` as a value of type `hint` (int, float, str, bool, tuple[str, ...], X | None)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        if text == "None":
            return None
        return _decode(text, next(a for a in args if a is not type(None)))
    if hint is bool:
        return text == "True"
    if hint is int:
        return int(text)
    if hint is float:
        return float(text)
    if typing.get_origin(hint) is tuple:
        return tuple(text.split(",")) if text else ()
    return text


def _decode_spec(name: str, text: str) -> object:
    if name in ("number", "seed"):
        return int(text)
    if name in ("ra", "dec"):
        return None if text == "None" else float(text)
    if name == "truth":
        return text == "True"
    if name == "date_obs":
        return dt.datetime.fromisoformat(text)
    if name == "smartstack":
        if text == "None":
            return None
        stack_id, index, length = text.rsplit(",", 2)
        return (stack_id, int(index), int(length))
    if name == "preset":
        return None if text == "None" else get_preset(text)
    return text
