"""Where a run's files go: which Photon Ranch API, and which S3 directory and channel.

All three public stages write to the same production bucket and database (protocol page §1),
so the safe default is the embedded local site. `resolve_api` never builds that site's URL
itself: it answers the `LOCAL` marker and `sending.run.connect` substitutes the URL of the site
it started. The real API answers 403 for a directory or channel it does not know, so those are
refused here, before anything is reserved or sent (`check_destination`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from send_test_images import defaults
from send_test_images.errors import UsageError

API_ENV = "SEND_TEST_IMAGES_API"

LOCAL = "local"
"""Marker for the embedded local site; see `is_local`."""

STAGES: Mapping[str, str] = {
    "test": "https://api.photonranch.org/test",
    "dev": "https://api.photonranch.org/dev",
    "prod": "https://api.photonranch.org/api",
}

DEFAULT_TARGET = defaults.API

S3_DIRECTORIES = ("data", "info-images", "allsky", "test")
INFO_CHANNELS = (1, 2, 3)
INFO_DIRECTORY = "info-images"
"""The one directory whose files carry a channel (protocol §1)."""

_SCHEMES = ("http", "https")
_ALLOWED = f"{LOCAL}, {', '.join(STAGES)} or an http(s):// URL such as http://127.0.0.1:8000"


def resolve_api(value: str | None = None, *, environ: Mapping[str, str] | None = None) -> str:
    """The API base URL without a trailing slash, or `LOCAL`.

    An explicit `value` wins over `$SEND_TEST_IMAGES_API`, which wins over the default (`local`);
    an empty environment variable counts as unset, an empty explicit value is a mistake.
    """
    if value is not None:
        return _resolve(value, where="API target")
    env = os.environ if environ is None else environ
    from_env = env.get(API_ENV, "")
    if from_env.strip():
        return _resolve(from_env, where=API_ENV)
    return DEFAULT_TARGET


def check_s3_directory(s3_directory: str) -> str:
    """One of `S3_DIRECTORIES`, or a UsageError naming the value and the allowed ones."""
    if s3_directory not in S3_DIRECTORIES:
        raise UsageError(f"s3 directory {s3_directory!r} is not allowed: use one of {', '.join(S3_DIRECTORIES)}")
    return s3_directory


def check_channel(channel: int) -> int:
    """An info-image channel, 1 to 3 (checked even when the directory is not info-images, as ever)."""
    if channel not in INFO_CHANNELS:
        raise UsageError(f"info channel {channel!r} is not allowed: use 1, 2 or 3")
    return channel


def check_destination(s3_directory: str, channel: int) -> None:
    """The real API answers 403 for these; refusing first means nothing is half-sent."""
    check_s3_directory(s3_directory)
    check_channel(channel)


def is_local(api: str) -> bool:
    """True when `api` (an answer of `resolve_api`) means "start or reuse the local site"."""
    return api == LOCAL


def _resolve(value: str, *, where: str) -> str:
    text = value.strip()
    name = text.lower()
    if name == LOCAL:
        return LOCAL
    if name in STAGES:
        return STAGES[name]
    return _normalise_url(text, original=value, where=where)


def _normalise_url(text: str, *, original: str, where: str) -> str:
    def refuse(why: str) -> UsageError:
        return UsageError(f"{where} {original!r} is not allowed ({why}): use {_ALLOWED}")

    if not text:
        raise refuse("it is empty")
    if any(ch.isspace() for ch in text):
        raise refuse("it contains white space")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise refuse("not a stage name, and not an http or https URL")
    if not parts.hostname:
        raise refuse("the URL has no host")
    try:
        parts.port  # noqa: B018 -- urlsplit checks the port only when it is read
    except ValueError:
        raise refuse("the URL's port is not a number from 0 to 65535") from None
    if parts.query or parts.fragment:
        raise refuse("the URL must not carry a query or fragment")
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, parts.netloc, path, "", ""))
