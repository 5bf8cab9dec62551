"""What a load test reserved, sent and reported: the loss-free promise, counted.

`up` promises that every file it reserved is sent or reported. Under Locust the same holds per
simulated camera: a file is reserved with its exposure's number, and ends exactly one way:
**sent** (S3 answered 204), **failed** (the Uploader gave up or was refused: reported to Locust as
a failed "exposure"), or **stopped** (Locust killed the user before the file went out, which
only happens when `--stop-timeout` runs out: reported too, with a warning that the file in
flight may still have reached S3). `unaccounted` is what is left, and must be 0.

Workers send their ledger to the master when they stop; the master adds them up and logs one
line (and with `--ledger FILE`, writes it as JSON).
"""

from __future__ import annotations

import json
import string
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from send_test_images.errors import SendTestImagesError


@dataclass
class Ledger:
    exposures_reserved: int = 0
    exposures_complete: int = 0
    files_reserved: int = 0
    files_sent: int = 0
    files_failed: int = 0
    files_stopped: int = 0
    bytes_sent: int = 0

    @property
    def unaccounted(self) -> int:
        return self.files_reserved - self.files_sent - self.files_failed - self.files_stopped

    def reserve(self, files: int) -> None:
        self.exposures_reserved += 1
        self.files_reserved += files

    def add(self, other: Ledger) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def to_dict(self) -> dict[str, int]:
        return {**asdict(self), "unaccounted": self.unaccounted}

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> Ledger:
        return cls(**{f.name: int(data.get(f.name, 0)) for f in fields(cls)})

    def line(self) -> str:
        return (f"ledger: {self.exposures_reserved} exposures reserved, {self.exposures_complete} complete; "
                f"{self.files_reserved} files reserved = {self.files_sent} sent + {self.files_failed} failed + "
                f"{self.files_stopped} stopped + {self.unaccounted} unaccounted; {self.bytes_sent} bytes sent")

    def write(self, path: Path, **extra: object) -> None:
        """The ledger (and e.g. the run tag) as JSON, written whole then renamed."""
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps({**extra, **self.to_dict()}, indent=2) + "\n")
        partial.replace(path)


def file_kind(object_name: str) -> str:
    """`tst-inst-20261130-00000001-EX10.jpg` -> `10.jpg`: what Locust groups requests by."""
    return object_name.rsplit("-", 1)[-1].lstrip(string.ascii_letters)


def reason(error: SendTestImagesError) -> str:
    """An upload error without its object key, so Locust groups equal failures in one row."""
    text = str(error)
    key = getattr(error, "key", None)
    return text.removeprefix(f"{key}: ") if key else text
