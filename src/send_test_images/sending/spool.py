"""Where a run's files wait until S3 has them: on disk, under their Photon Ranch names.

Generation writes every file here (or into `--out`) before it is journaled and sent, so an
unsent file survives a crash under the name and number it was given, and uploads stream from
disk instead of holding bytes in memory. `spool_exposure` runs in the generator processes.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from send_test_images import paths
from send_test_images.exposure.products import Exposure, make_exposure
from send_test_images.exposure.spec import ExposureSpec
from send_test_images.sending.journal import FileEntry, check_run_id

SPOOL_DIR = "spool"
PARTIAL_SUFFIX = ".part"


@dataclass(frozen=True)
class SpooledExposure:
    """One exposure's files on disk, in upload order; what a generator process hands back."""

    number: int
    files: list[FileEntry]

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self.files)


def spool_dir(run_id: str) -> Path:
    """`{state}/spool/{run_id}`: private to one run, removed when the run has sent everything."""
    return paths.state_dir() / SPOOL_DIR / check_run_id(run_id)


def spool_exposure(spec: ExposureSpec, directory: Path, keep_local: bool = False) -> SpooledExposure:
    """Make one exposure and write its files; each appears whole under its name, or not at all.
    `keep_local` also writes the files that are kept, never sent (truth catalogue, archive FITS)."""
    exposure = make_exposure(spec)
    written = write_exposure(exposure, directory, local=keep_local)
    files = [
        FileEntry(str(product.name), str(path), len(product.data))
        for product, path in zip(exposure.products, written, strict=False)  # local files come last
    ]
    return SpooledExposure(spec.number, files)


def write_exposure(exposure: Exposure, directory: Path, *, local: bool = True) -> list[Path]:
    """Every product under its Photon Ranch name in upload order, then, when made and `local`,
    the files that are kept but never sent (the truth catalogue, a preset's archive FITS under
    its ORIGNAME); each file appears whole or not at all."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for product in exposure.products:
        path = directory / str(product.name)
        write_whole(path, product.data)
        written.append(path)
    for kept in (exposure.truth, exposure.archive) if local else ():
        if kept is not None:
            path = directory / kept.name
            write_whole(path, kept.data)
            written.append(path)
    return written


def write_whole(path: Path, data: bytes) -> None:
    """Write beside, then rename: a crash never leaves half a file under a real name."""
    partial = path.with_name(path.name + PARTIAL_SUFFIX)
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise


def discard(path: str | Path) -> None:
    """Remove a spooled file that is sent (or was never journaled); gone already is fine."""
    with contextlib.suppress(FileNotFoundError):
        Path(path).unlink()


def remove_if_empty(directory: Path) -> None:
    """Drop a run's spool folder once nothing is left in it."""
    with contextlib.suppress(OSError):
        directory.rmdir()
