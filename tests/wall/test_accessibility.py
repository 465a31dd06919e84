"""Every page, in French and in English, checked by axe-core in a real Chromium: no violation of
WCAG 2.0, 2.1 and 2.2 at levels A and AA. axe-core comes inside axe-playwright-python (nothing is
fetched). One server, one browser and one logged-in context serve every page of the module."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from aggregator.application import Livewall
from aggregator.digest.runs import DigestRuns
from aggregator.settings import settings_from_mapping
from aggregator.store import Store
from tests.aggregator.digest.conftest import PROGRAM
from tests.aggregator.digest.day import DAY, seed_day
from tests.browser import CHROMIUM, CHROMIUM_ARGS, artifact
from tests.conftest import BACKENDS, REPO, LiveServer, _truncate
from tests.wall.console.conftest import add_staff, browser_login
from tests.wall.console.test_pages_browser import seed

# One worker (pytest-xdist, --dist loadgroup) asked for the whole module: its site set up once.
pytestmark = [pytest.mark.anyio, pytest.mark.browser, pytest.mark.xdist_group("accessibility")]

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
CONSOLE = (
    "", "/messages", "/rules", "/screens", "/sources", "/stats", "/audit", "/users", "/notifications",
)  # fmt: skip
SCREENS = [
    {"name": f"{layout}-{theme}", "layout": layout, "theme": theme}
    for layout in ("grid", "spotlight", "ticker")
    for theme in ("dark", "light")
]
PAGES = [
    *(f"/console{path}" for path in CONSOLE),
    "/console/login",
    f"/digest/{DAY.isoformat()}",
    "/digest/",
    "/wall/",
    *(f"/wall/{screen['name']}" for screen in SCREENS),
]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module", params=BACKENDS)
def site(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    pg_migrated: str | None,
) -> Iterator[LiveServer]:
    """A server with a bit of everything: held and decided posts, rules, a published digest."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("a11y") / "livewall.db"
        shutil.copy(sqlite_template, path)
        url = f"sqlite:///{path}"
    else:
        assert pg_migrated is not None
        url = pg_migrated
    store = Store(url)
    if request.param == "postgresql":
        store.migrate()
        _truncate(store)
    raw: dict[str, Any] = {
        "event": {
            "name": "Assises de test",
            "hashtags": ["AssisesUMQ"],
            "languages": ["fr", "en"],
            "program": str(PROGRAM),
        },
        "storage": {"url": url},
        "moderation": {"mode": "pre"},
        "sources": [{"name": "demo", "type": "demo", "per_run": 5}],
        "screens": [{"name": "hall", "layout": "grid"}, *SCREENS],
    }
    livewall = Livewall(
        settings_from_mapping(raw, REPO / "config" / "test.toml"), store=store, env={}
    )
    seed(livewall)
    seed_day(store)
    assert DigestRuns(livewall.settings, store, {}).run(DAY).outcome == "published"
    add_staff(livewall, "ada", "admin")
    server = LiveServer(livewall).start()
    yield server
    server.stop()
    store.dispose()


@pytest.fixture(scope="module")
async def staff_context(site: LiveServer) -> AsyncIterator[Any]:
    """A browser context logged in as an administrator, shared by every page of the module."""
    if not CHROMIUM.exists():
        pytest.skip("browser test: /usr/bin/chromium is missing (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        # bypass_csp: the style that stills transitions (below) is inline, which our CSP forbids.
        context = await browser.new_context(
            viewport={"width": 1280, "height": 860}, bypass_csp=True
        )
        page = await context.new_page()
        await browser_login(page, site.url, "ada")
        await page.close()
        yield context
        await browser.close()


def readable(violations: list[dict[str, Any]]) -> str:
    """Each violation as a person reads it: rule, impact, what to fix, and every element."""
    lines: list[str] = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation.get('impact')}): {violation['help']}")
        for node in violation["nodes"]:
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    {' '.join(map(str, node['target']))}: {summary}")
    return "\n".join(lines)


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("path", PAGES)
async def test_no_accessibility_violation(
    site: LiveServer, staff_context: Any, path: str, language: str
) -> None:
    from axe_playwright_python.async_playwright import Axe

    # The login form is seen logged out; the screens as a TV sees them.
    logged_in = path.startswith("/console") and path != "/console/login"
    context = (
        staff_context
        if logged_in
        else await staff_context.browser.new_context(
            viewport={"width": 1920, "height": 1080} if path.startswith("/wall/") else None,
            bypass_csp=True,
        )
    )
    page = await context.new_page()
    try:
        answer = await page.goto(f"{site.url}{path}?lang={language}")
        assert answer is not None and answer.status == 200, path
        # Colours are judged at rest: a spotlight caught mid-fade has its text half-way to
        # the background, which no reader sees for more than a moment.
        await page.add_style_tag(content="*{transition:none!important;animation:none!important}")
        options = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}
        results = await Axe().run(page, options=options)
        violations = results.response["violations"]
        if violations:
            name = path.strip("/").replace("/", "-") or "root"
            await page.screenshot(path=artifact(f"axe-{name}-{language}.png"), full_page=True)
        assert not violations, f"{path}?lang={language}\n{readable(violations)}"
    finally:
        await page.close()
        if context is not staff_context:
            await context.close()
