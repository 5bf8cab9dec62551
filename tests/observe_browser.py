"""The observe page in a real headless browser: Debian's chromium driven by Playwright (never
Playwright's own browser download), shared by the page's browser tests. Screenshots go to
`artifacts/` at the repo root, where `./dev test` keeps them."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
APPEAR_TIMEOUT_MS = 10_000
"""Generous bound for a broken run; the page polls every second."""
VIEWPORT = {"width": 1400, "height": 1000}

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not shutil.which("chromium"),
    reason="Debian's chromium is not installed: ./dev test installs it (apt)",
)


def browser_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One chromium page for a module's tests (a fixture body: wrap it in `pytest.fixture`)."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed: ./dev test installs the test extras"
    )
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport=VIEWPORT,
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def screenshot(page: Any, name: str) -> Path:
    """Keep what the page looks like now as `artifacts/{name}.png`."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def thumb(base: str) -> str:
    return f'#strip li.thumb[data-base="{base}"]'
