"""The README's screenshots: each layout at 1920x1080 in headless Chromium, saved small.

    .venv/bin/python bench/wall_screenshots.py [folder]   (default: docs/screenshots)

Runs a real server on a temporary SQLite file with the bundled demo posts; nothing leaves
127.0.0.1 (the live player is answered locally).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from PIL import Image  # noqa: E402

from aggregator import messages  # noqa: E402
from aggregator.application import Livewall  # noqa: E402
from aggregator.models import utcnow  # noqa: E402
from aggregator.settings import settings_from_mapping  # noqa: E402
from aggregator.slides import SlidePlan  # noqa: E402
from aggregator.store import Store  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.conftest import LiveServer  # noqa: E402

SHOTS: list[tuple[str, dict[str, Any]]] = [
    ("grid-dark", {"layout": "grid", "title": "Grand hall"}),
    ("grid-light", {"layout": "grid", "title": "Accueil", "theme": "light"}),
    ("spotlight", {"layout": "spotlight", "title": "Salle plénière", "rotate_seconds": 60}),
    ("ticker", {"layout": "ticker", "title": "Bandeau"}),
    ("grid-live", {"layout": "grid", "title": "Hall principal", "show_stream": True}),
    ("emergency", {"layout": "grid", "title": "Hall"}),
]
# The Assises' own look, as config/assises-umq.toml sets it, on each layout, then a sponsor
# slide and an announcement slide shown between posts.
ASSISES = tomllib.loads((REPO / "config" / "assises-umq.toml").read_text(encoding="utf-8"))
SHOTS += [
    (f"assises-{layout}", {"layout": layout, "title": title, **ASSISES["branding"]})
    for layout, title in (
        ("grid", "Hall principal"),
        ("spotlight", "Salle plénière"),
        ("ticker", "Bandeau"),
    )
]
SLIDE_SHOTS = ("slide-grid", "slide-spotlight", "slide-ticker")
SHOTS += [
    (name, {"layout": name[6:], "title": title, "rotate_seconds": 3, **ASSISES["branding"]})
    for name, title in zip(SLIDE_SHOTS, ("Hall principal", "Salle plénière", "Bandeau"), strict=True)
]  # fmt: skip


def build(folder: Path) -> Livewall:
    from tests.wall.wall_data import seed_demo

    store = Store(f"sqlite:///{folder}/screens.db")
    store.migrate()
    screens = [{"name": name, **options} for name, options in SHOTS]
    raw = {
        "event": {"name": "Assises 2027 de l'UMQ", "hashtags": ["AssisesUMQ"]},
        "storage": {"url": store.url},
        "server": {"public_url": "https://mur.example.org"},
        "sources": [{"name": "demo", "type": "demo"}],
        "screens": screens,
    }
    app = Livewall(settings_from_mapping(raw, REPO / "config" / "x.toml"), store=store, env={})
    ids = seed_demo(app, 18)
    from aggregator.moderation.decisions import decide

    decide(store, ids[16], "feature", "marie")
    messages.send(
        store, "Le dîner est servi au niveau 4 — bon appétit!", screens=["grid-dark"], minutes=30
    )
    add_slides(app, folder)
    return app


def add_slides(app: Livewall, folder: Path) -> None:
    from tests.wall.wall_data import sponsor_logo
    from wall.slides import add_slide
    from wall.staff_images import StaffImages

    now, hour = utcnow(), timedelta(hours=1)
    logo = sponsor_logo(folder / "sponsor.png").read_bytes()
    sponsor = SlidePlan(now, now + hour, "Énergie Boréale, fière partenaire des Assises",
                        screens=["slide-grid", "slide-spotlight"], every_posts=1)  # fmt: skip
    add_slide(app, StaffImages.of(app), sponsor, logo, "bench")
    notice = SlidePlan(now, now + hour, "Plénière à 14 h : « Le financement des villes »",
                       kind="announcement", screens=["slide-ticker"], every_posts=1)  # fmt: skip
    app.slides.add(notice, "bench")


def add_broadcast(app: Livewall) -> None:
    from tests.builders import candidate, result, source
    from tests.wall.test_wall_browser import pipeline

    official = source("umq-youtube", official=True)
    live = candidate(
        "yt:live", "Suivez la séance d'ouverture en direct de la salle plénière.",
        kind="live", live_state="live", title="Séance d'ouverture des Assises",
        url="https://www.youtube.com/watch?v=abcdefghijk", network="youtube",
    )  # fmt: skip
    pipeline(official)(app).ingest(official, result(live))


async def shoot(base: str, out: Path) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        await page.route(
            "https://www.youtube-nocookie.com/**",
            lambda route: route.fulfill(
                body="<body style='margin:0;background:#000;color:#fff;font:48px sans-serif;"
                "display:grid;place-items:center;height:100vh'>▶ YouTube</body>",
                content_type="text/html; charset=utf-8",
            ),
        )
        for name, _ in SHOTS:
            await page.goto(f"{base}/wall/{name}")
            if name in SLIDE_SHOTS:
                await page.wait_for_selector(".slide:not([hidden])", timeout=30000)
                await page.wait_for_timeout(500)  # the arrival animation ends
            await page.wait_for_timeout(1500)
            if name == "emergency":
                await page.evaluate("document.querySelector('.emergency').hidden = false")
                await page.evaluate(
                    "document.querySelector('.emergency-text').textContent = "
                    "'Veuillez évacuer le bâtiment par les sorties les plus proches.'"
                )
            path = out / f"wall-{name}.png"
            await page.screenshot(path=path)
            shrink(path)
            print(path, path.stat().st_size // 1024, "KB")
        await browser.close()


def shrink(path: Path) -> None:
    with Image.open(path) as image:
        small = image.convert("RGB").resize((1280, 720), Image.Resampling.LANCZOS)
    small.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    app = build(Path(tempfile.mkdtemp()))
    add_broadcast(app)
    server = LiveServer(app).start()
    try:
        asyncio.run(shoot(server.url, out))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
