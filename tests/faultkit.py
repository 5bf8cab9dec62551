"""Helpers for the fault suite: the bucket as S3 lists it, and processes as /proc shows them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from send_test_images.localsite import LocalSite
from send_test_images.localsite.s3server import DEFAULT_BUCKET, DEFAULT_REGION, load_or_make_credentials

PROC = Path("/proc")


def s3_client(site: LocalSite) -> Any:
    credentials = load_or_make_credentials(site.data_dir / "s3.json")
    return boto3.client(
        "s3", endpoint_url=site.s3_url, aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key, region_name=DEFAULT_REGION,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def bucket_keys(site: LocalSite, inst: str) -> set[str]:
    pages = s3_client(site).get_paginator("list_objects_v2").paginate(Bucket=DEFAULT_BUCKET, Prefix=f"data/tst-{inst}-")
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None when it is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1])


def alive(pid: int) -> bool:
    """Running or sleeping; a zombie is dead (nothing left but its exit status)."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def descendants(pid: int) -> set[int]:
    """Every living process whose parent, grandparent, ... is `pid`, now."""
    parents: dict[int, int] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None and stat[0] != "Z":
            parents[int(entry.name)] = stat[1]
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def children_named(name: str, pid: int | None = None) -> list[int]:
    """Processes called `name` whose parent is `pid` (this process by default)."""
    parent = os.getpid() if pid is None else pid
    return [child for child in descendants(parent)
            if (PROC / str(child) / "comm").read_text().strip() == name and _stat(child)[1] == parent]  # type: ignore[index]
