"""A real headless Chromium (Debian's package) for browser tests, through Playwright's async API.

Use it in a test module with `from tests.browser import browser  # noqa: F401`; the test
is skipped, with the reason, only when /usr/bin/chromium is missing. The Chromium behind it is
launched once per session (tests/conftest.py makes `shared_chromium` seen everywhere).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="session")
async def shared_chromium() -> AsyncIterator[object]:
    """One launched Browser (playwright.async_api.Browser) for the session (for each
    pytest-xdist worker): starting Playwright's driver and Chromium is most of a browser
    test's set-up, and every test gets contexts of its own (see `browser`)."""
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


@pytest.fixture
async def browser(shared_chromium: Any) -> AsyncIterator[object]:
    """The session's Browser, as fresh as a new one: each context (`new_page` opens one) is
    the test's own, with no cookies, storage or permissions of another test, and every
    context the test opened is closed after it."""
    assert not shared_chromium.contexts, "a previous browser test left a context open"
    try:
        yield shared_chromium
    finally:
        for context in list(shared_chromium.contexts):
            await context.close()


def artifact(name: str) -> Path:
    """Where a test saves a screenshot (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
