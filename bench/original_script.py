"""The original `send_test_image/up.py` (LCOGT/photonranch-helper-scripts), run as it is, for timing.

`bench original` compares `up` with the script it replaces, not with a re-implementation of it:
the original's own code, its own dependencies, its own process start-up. Its code is never part
of this repository. It is obtained once into the user cache, from GitHub for users with internet,
or from `--original-source PATH` (a checkout of that repository, its `send_test_image` folder,
`up.py` itself with `makedata.py` beside it, or a bare git directory), and checked against the
SHA-256 of the commit the benchmark was written for, so every source gives the same script.

It runs in a venv of its own. Its 2021 pins (`requirements.txt`: numpy 1.20, astropy 4.2,
scikit-image 0.18, ...) do not build on Python 3.11, so the venv gets today's releases of what
it imports (`ORIGINAL_IMPORTS`); the bench prints their versions. The one change made to the script:
its two API base URLs (the `/test` stage for uploads, the `/api` stage for `latest_images`) point
at the local site. It writes its frames to `./generated_files`, so each copy gets a folder of its
own.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import platformdirs

REPOSITORY = "LCOGT/photonranch-helper-scripts"
COMMIT = "16045ef2cf5c14d8fbeeee96404bb651f45ee4b4"
"""2023-10-05, "Add smartstack support": the last change to the script."""
FOLDER = "send_test_image"
SHA256 = {
    "up.py": "bac1055add3e862fc7b03a67b67429409c5c03f8c63a6ead47a43de328ad58cc",
    "makedata.py": "92c6f35bcc9cd3abf702df1f1d300c5a679bc45ec4da73f1dbfb61306f628a63",
}
RAW_URL = "https://raw.githubusercontent.com/{repository}/{commit}/{folder}/{name}"
ORIGINAL_IMPORTS = ("requests", "tqdm", "numpy", "matplotlib", "astropy", "scikit-image", "auto-stretch")
"""The distributions of everything up.py and makedata.py import, unpinned: see the module doc."""
API_BASES = ("https://api.photonranch.org/test", "http://api.photonranch.org/api")
"""The script's two base URLs, each written once in up.py; both become the local site's."""
DOWNLOAD_TIMEOUT = 30.0


class OriginalUnavailable(RuntimeError):
    """The original script could not be obtained or installed; the message says what to do."""


@dataclass(frozen=True)
class Original:
    """The cached script and the interpreter of its venv."""

    folder: Path
    python: Path
    versions: dict[str, str]

    def copy_for(self, api_url: str, into: Path) -> Path:
        """A runnable copy in `into` (its own `generated_files`), its base URLs set to `api_url`."""
        into.mkdir(parents=True, exist_ok=True)
        text = (self.folder / "up.py").read_text()
        for base in API_BASES:
            if text.count(base) != 1:
                raise OriginalUnavailable(f"the original up.py does not contain {base!r} exactly once")
            text = text.replace(base, api_url.rstrip("/"))
        (into / "up.py").write_text(text)
        shutil.copyfile(self.folder / "makedata.py", into / "makedata.py")
        (into / "generated_files").mkdir(exist_ok=True)
        return into

    def command(self, *, site: str, data_type: str, files: str, repeat: int) -> list[str]:
        """The original's command line, run in a folder from `copy_for`."""
        return [str(self.python), "up.py", "-s", site, "-dt", data_type, "-f", files, "-r", str(repeat)]


def cache_dir() -> Path:
    return platformdirs.user_cache_path("send-test-images") / "original-script" / COMMIT[:12]


def prepare(source: Path | None = None, *, say=print) -> Original:
    """The original script and its venv, made once into the cache (`say` tells what is done)."""
    home = cache_dir()
    folder = home / FOLDER
    if not all(_sha256(folder / name) == digest for name, digest in SHA256.items()):
        texts = {name: _fetch(source, name) for name in SHA256}
        for name, text in texts.items():
            if hashlib.sha256(text).hexdigest() != SHA256[name]:
                raise OriginalUnavailable(
                    f"{name} from {source or 'GitHub'} is not the one of {REPOSITORY}@{COMMIT[:7]}: "
                    "point --original-source at that commit"
                )
        staging = Path(tempfile.mkdtemp(dir=_made(home)))
        for name, text in texts.items():
            (staging / name).write_bytes(text)
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
        say(f"original: {REPOSITORY}@{COMMIT[:7]} {FOLDER}/ cached in {folder}")
    python, versions = _venv(home / "venv", say)
    return Original(folder, python, versions)


def _made(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _fetch(source: Path | None, name: str) -> bytes:
    """One of the original's files, from GitHub or from `source` (see the module doc)."""
    if source is None:
        url = RAW_URL.format(repository=REPOSITORY, commit=COMMIT, folder=FOLDER, name=name)
        try:
            answer = httpx.get(url, timeout=DOWNLOAD_TIMEOUT, follow_redirects=True)
            answer.raise_for_status()
        except httpx.HTTPError as exc:
            raise OriginalUnavailable(
                f"could not download {url} ({exc}); without internet, pass --original-source PATH "
                f"(a checkout or git directory of {REPOSITORY})"
            ) from exc
        return answer.content
    if (source / "HEAD").is_file() and (source / "objects").is_dir():  # a (bare) git directory
        return _git_show(source, name)
    if (source / ".git").exists():
        return _git_show(source / ".git", name)
    folders = [source.parent] if source.is_file() else [source / FOLDER, source]
    for candidate in (folder / name for folder in folders):
        if candidate.is_file():
            return candidate.read_bytes()
    raise OriginalUnavailable(f"--original-source {source}: no {name} there, nor in {source / FOLDER}")


def _git_show(git_dir: Path, name: str) -> bytes:
    done = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{COMMIT}:{FOLDER}/{name}"],
                          capture_output=True)
    if done.returncode != 0:
        raise OriginalUnavailable(
            f"--original-source {git_dir}: git cannot show {COMMIT[:7]}:{FOLDER}/{name}: "
            f"{done.stderr.decode(errors='replace').strip()}"
        )
    return done.stdout


def _venv(where: Path, say) -> tuple[Path, dict[str, str]]:
    """The venv's python and the versions installed in it, installing them the first time."""
    python = where / "bin" / "python"
    stamp = where / "installed.txt"
    if not stamp.is_file():
        shutil.rmtree(where, ignore_errors=True)
        say(f"original: making its venv in {where} (today's {', '.join(ORIGINAL_IMPORTS)}; its 2021 pins "
            "do not install on Python 3.11)")
        subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
        installed = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *ORIGINAL_IMPORTS],
            capture_output=True, text=True,
        )
        if installed.returncode != 0:
            raise OriginalUnavailable(f"installing the original's dependencies failed: {installed.stderr[-500:]}")
        listed = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
                                capture_output=True, text=True, check=True)
        stamp.write_text(listed.stdout)
    versions = dict(line.split("==", 1) for line in stamp.read_text().splitlines() if "==" in line)
    wanted = {name.lower() for name in ORIGINAL_IMPORTS}
    return python, {name: version for name, version in versions.items() if name.lower() in wanted}


if __name__ == "__main__":  # `python -m bench.original_script [SOURCE]`: fetch and install only
    original = prepare(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(original.python, original.versions)
    sys.exit(0 if os.access(original.python, os.X_OK) else 1)
