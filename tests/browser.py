"""A real headless Chromium (Debian's package) for browser tests, through Playwright's async API.

Use it in a test module with `from tests.browser import browser  # noqa: F401`; the test
is skipped, with the reason, only when /usr/bin/chromium is missing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# Nothing may leave the machine: no Google services, no component updates, no QUIC probes.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    """A launched Browser (playwright.async_api.Browser), closed after the test."""
    if not CHROMIUM.exists():
        pytest.skip("browser test: /usr/bin/chromium is missing (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


def artifact(name: str) -> Path:
    """Where a test saves a screenshot (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
