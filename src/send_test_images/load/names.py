"""Who each simulated camera is: a site code and an instrument that never collide.

A name that collides is worse than a failed upload: S3 overwrites the object and ingestion keeps
one row, so the load test reports files that the site no longer has. Every simulated user is one
site camera, named from three things that are unique together:

- the run tag (3 characters), chosen at random by the master (or given with `--run-tag`) and
  handed to every worker with Locust's custom arguments, so two load tests differ;
- the worker index (Locust's master numbers its workers 0, 1, 2, ... in the order they connect,
  on whatever machine they run), so two workers differ;
- the user index inside the worker process (counted from 0 as users spawn), so two users differ.

site = tag + worker index in base 36, two characters (`k7q` + `03` -> `k7q03`, 1,296 workers);
inst = `c` + user index in base 36 (`c0` ... `czzzz`, 1,679,616 users per worker). The base name
`{site}-{inst}-{YYYYMMDD}-{NNNNNNNN}` is then at most 5 + 1 + 5 + 19 = 29 characters, the
service's limit (protocol §2), and both parts obey `exposure/naming.py` (checked here).
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from send_test_images.errors import UsageError
from send_test_images.exposure.naming import check_inst, check_site

TAG_LENGTH = 3
TAG_ALPHABET = string.ascii_lowercase
"""Letters only for a random tag, so every site code starts with a letter like real ones do."""
GIVEN_TAG_ALPHABET = string.ascii_lowercase + string.digits
DIGITS36 = string.digits + string.ascii_lowercase
WORKER_DIGITS = 2
MAX_WORKERS = 36**WORKER_DIGITS
INST_PREFIX = "c"
USER_DIGITS = 4
MAX_USERS_PER_WORKER = 36**USER_DIGITS


@dataclass(frozen=True)
class CameraName:
    """One simulated site camera's site code and instrument name."""

    site: str
    inst: str


def new_run_tag() -> str:
    """A random tag for a load test: 17,576 of them, and numbers continue after what a site has."""
    return "".join(secrets.choice(TAG_ALPHABET) for _ in range(TAG_LENGTH))


def check_run_tag(tag: str) -> str:
    """Return `tag` if it is 3 lower-case letters or digits (it starts every site code)."""
    ok = isinstance(tag, str) and len(tag) == TAG_LENGTH and all(c in GIVEN_TAG_ALPHABET for c in tag)
    if not ok:
        raise UsageError(f"run tag {tag!r} is not allowed: use {TAG_LENGTH} lower-case letters or digits")
    return tag


def base36(value: int, width: int) -> str:
    """`value` in base 36 (0-9a-z), zero-padded to `width` characters."""
    digits = []
    while value:
        value, digit = divmod(value, 36)
        digits.append(DIGITS36[digit])
    return "".join(reversed(digits)).rjust(width, "0")


def camera_name(tag: str, worker: int, user: int) -> CameraName:
    """The site camera of user number `user` on worker number `worker` of the run tagged `tag`."""
    check_run_tag(tag)
    if not isinstance(worker, int) or not 0 <= worker < MAX_WORKERS:
        raise UsageError(f"worker index {worker!r} is not allowed: use 0 to {MAX_WORKERS - 1}")
    if not isinstance(user, int) or not 0 <= user < MAX_USERS_PER_WORKER:
        raise UsageError(f"user index {user!r} is not allowed: use 0 to {MAX_USERS_PER_WORKER - 1}")
    site = check_site(tag + base36(worker, WORKER_DIGITS))
    inst = check_inst(INST_PREFIX + base36(user, 1))
    return CameraName(site, inst)
