"""The journal's first line, typed and versioned: what a run is, so `resume` can finish it.

`resume` re-plans a run from this line alone (options, seed, where it sends), so misreading it
would send different files under the run's numbers. Hence: every field is named once, here; the
line carries `format`; and a line of an unknown format, or one missing a field or holding a
value of the wrong type, is refused with one line naming the run and what to do — never
guessed at.

FORMAT 1 is the layout written since the journal exists, and still the one written: the run's
options are plain JSON values (`time` as ISO 8601, `location` as "LAT,LON[,ELEV]", `size` as
"WxH"), and `null` for `camera`, `exptime`, `filter` or `seeing` means the default. A change to
that layout gets a new number and a reader of its own in `_READERS`; old journals keep theirs.

FORMAT 2 is FORMAT 1 plus `like` (the `--like` preset's name): written only for a run with a
preset, so every other run's line stays FORMAT 1, readable by versions that came before.

FORMAT 3 is FORMAT 2 plus `stars` (`catalogue` or `synthetic`) and `target` (the `--target` text
or null), `like` null without a preset: written for every run whose stars come from the catalogue
or that has a target. A run of FORMAT 1 or 2 was made before catalogue stars existed, so it is
re-planned with `stars` synthetic and no target: the same files it began with.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from send_test_images.errors import JournalError, UsageError
from send_test_images.exposure.options import BatchOptions, Location, SensorSize, Target, parse_time

FORMAT = 1
"""The layout this version writes for a run without a preset."""

FORMAT_WITH_PRESET = 2
"""The layout it writes for a run with `--like`."""

FORMAT_WITH_SKY = 3
"""The layout it writes for a run with catalogue stars or a `--target`."""

RUN_EVENT = "run"


@dataclass(frozen=True)
class RunRecord:
    """One run as journaled when it starts: where it sends, and everything that re-plans it."""

    run_id: str
    target: str
    """A URL, or `local` (the embedded site, started again from `data` on resume)."""
    data: Path | None
    s3_directory: str
    info_channel: int | None
    out_dir: Path | None
    options: BatchOptions
    seed: int
    """The run's first block's seed (the user's --seed, or the one drawn for the run)."""

    def to_json(self) -> dict[str, Any]:
        """The journal line, in FORMAT's layout (keys in the order the journal has always had)."""
        return {
            "event": RUN_EVENT,
            "format": record_format(self.options),
            "run_id": self.run_id,
            "target": self.target,
            "data": str(self.data) if self.data is not None else None,
            "s3_directory": self.s3_directory,
            "info_channel": self.info_channel,
            "out_dir": str(self.out_dir) if self.out_dir is not None else None,
            "options": options_to_json(self.options),
            "seed": self.seed,
        }

    @classmethod
    def from_json(cls, line: Mapping[str, Any], *, run_id: str, path: Path | str) -> RunRecord:
        """Read a run line of any known format; refuse anything else with a JournalError."""
        version = line.get("format")
        reader = _READERS.get(version) if isinstance(version, int) and not isinstance(version, bool) else None
        if reader is None:
            raise JournalError(
                f"run {run_id} cannot be resumed: its journal {path} has format {version!r}, and this "
                f"version of send-test-images reads {', '.join(map(str, _READERS))}: resume it with the "
                "version that started it, or delete the journal to forget the run"
            )
        try:
            return reader(line, run_id)
        except _Refused as exc:
            raise JournalError(
                f"run {run_id} cannot be resumed: its journal {path} {exc}: resume it with the version that "
                "started it, or delete the journal to forget the run"
            ) from None


def record_format(options: BatchOptions) -> int:
    """The oldest layout that holds these options, so older versions can still resume what they could make."""
    if options.stars != "synthetic" or options.target is not None:
        return FORMAT_WITH_SKY
    return FORMAT if options.like is None else FORMAT_WITH_PRESET


def options_to_json(options: BatchOptions) -> dict[str, Any]:
    """BatchOptions as `record_format` stores them: plain JSON values under the field names."""
    values = dataclasses.asdict(options)
    values["time"] = options.time.isoformat() if options.time else None
    values["location"] = str(options.location) if options.location else None
    values["size"] = str(options.size) if options.size else None
    values["target"] = str(options.target) if options.target else None
    layout = record_format(options)
    if layout < FORMAT_WITH_SKY:  # FORMAT 1 and 2 have no `stars` or `target`
        del values["stars"], values["target"]
    if layout == FORMAT:  # FORMAT 1 has no `like`
        del values["like"]
    return values


class _Refused(Exception):
    """What is wrong with a run line; `from_json` adds the run, the file and what to do."""


_Types = tuple[type, ...]
_INT: _Types = (int,)
_NUMBER: _Types = (int, float)
_STR: _Types = (str,)
_BOOL: _Types = (bool,)
_NONE: _Types = (type(None),)

_RUN_FIELDS_1: dict[str, _Types] = {
    "target": _STR,
    "data": _STR + _NONE,
    "s3_directory": _STR,
    "info_channel": _INT + _NONE,
    "out_dir": _STR + _NONE,
    "options": (dict,),
    "seed": _INT,
}

_OPTION_FIELDS_1: dict[str, _Types] = {
    "site": _STR,
    "inst": _STR,
    "data_type": _STR,
    "files": _STR,
    "repeat": _INT,
    "smartstack": _INT,
    "seed": _INT + _NONE,
    "camera": _STR + _NONE,
    "image": _STR,
    "frame": _STR,
    "exptime": _NUMBER + _NONE,
    "filter": _STR + _NONE,
    "time": _STR + _NONE,
    "fits_format": _STR,
    "truth": _BOOL,
    "user": _STR,
    "seeing": _NUMBER + _NONE,
    "cosmic_rays": _BOOL,
    "satellite": _BOOL,
    "location": _STR + _NONE,
    "size": _STR + _NONE,
    "pixel_scale": _NUMBER + _NONE,
}
_OPTION_FIELDS_2: dict[str, _Types] = {**_OPTION_FIELDS_1, "like": _STR}
_OPTION_FIELDS_3: dict[str, _Types] = {**_OPTION_FIELDS_1, "like": _STR + _NONE, "stars": _STR,
                                       "target": _STR + _NONE}

_NULL_MEANS_DEFAULT_1 = ("camera", "exptime", "filter", "seeing")
"""Options FORMAT 1 wrote as null when the user left them alone (the default came later)."""


def _read_2(line: Mapping[str, Any], run_id: str) -> RunRecord:
    return _read_1(line, run_id, option_fields=_OPTION_FIELDS_2)


def _read_3(line: Mapping[str, Any], run_id: str) -> RunRecord:
    return _read_1(line, run_id, option_fields=_OPTION_FIELDS_3)


def _read_1(
    line: Mapping[str, Any], run_id: str, *, option_fields: dict[str, _Types] | None = None
) -> RunRecord:
    _check_fields(line, _RUN_FIELDS_1, where="run line")
    values = dict(line["options"])
    _check_fields(values, option_fields or _OPTION_FIELDS_1, where="run line's options", exact=True)
    for name in _NULL_MEANS_DEFAULT_1:
        if values[name] is None:
            del values[name]
    try:
        values["time"] = parse_time(values["time"]) if values["time"] is not None else None
        values["location"] = Location.parse(values["location"]) if values["location"] is not None else None
        values["size"] = SensorSize.parse(values["size"]) if values["size"] is not None else None
        values["target"] = Target.parse(values["target"]) if values.get("target") is not None else None
    except UsageError as exc:
        raise _Refused(f"holds an option this version cannot read ({exc})") from None
    values.setdefault("stars", "synthetic")  # FORMAT 1 and 2: every star was synthetic then
    try:
        options = BatchOptions(**values)
    except UsageError as exc:  # e.g. a preset this version does not have
        raise _Refused(f"holds an option this version cannot read ({exc})") from None
    return RunRecord(
        run_id=run_id,
        target=line["target"],
        data=Path(line["data"]) if line["data"] else None,
        s3_directory=line["s3_directory"],
        info_channel=line["info_channel"],
        out_dir=Path(line["out_dir"]) if line["out_dir"] else None,
        options=options,
        seed=line["seed"],
    )


def _check_fields(values: Mapping[str, Any], fields: dict[str, _Types], *, where: str, exact: bool = False) -> None:
    missing = [name for name in fields if name not in values]
    if missing:
        raise _Refused(f"has no {', '.join(map(repr, missing))} in its {where}")
    if exact and (unknown := sorted(set(values) - set(fields))):
        raise _Refused(f"has {', '.join(map(repr, unknown))} in its {where}, which this version does not know")
    for name, types in fields.items():
        value = values[name]
        wrong = not isinstance(value, types) or (isinstance(value, bool) and bool not in types)
        if wrong:
            raise _Refused(f"has {name} = {value!r} in its {where}, which is not a {_kind(types)}")


def _kind(types: _Types) -> str:
    words: list[str] = []
    for kind in types:
        word = {int: "number" if float in types else "whole number", float: "number", str: "text",
                bool: "true/false", dict: "JSON object"}.get(kind, "null")
        if word not in words:
            words.append(word)
    return " or ".join(words)


_READERS: dict[int, Callable[[Mapping[str, Any], str], RunRecord]] = {1: _read_1, 2: _read_2, 3: _read_3}
"""One reader per journal format this version can resume."""

