"""How much a hallway screen downloads before images: HTML + CSS + JS (+ icons), in bytes.

    .venv/bin/python bench/wall_weight.py

Builds a wall on a temporary SQLite file with 30 demo posts (a full first page) and asks
each layout's page and its static files through the ASGI app, plain and in the Assises' look
(config/assises-umq.toml's [branding]). The budget is 200 KB; a branded screen's font files
are counted apart: a TV downloads them once and keeps them a year.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
import tomllib
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from aggregator.application import Livewall  # noqa: E402
from aggregator.settings import settings_from_mapping  # noqa: E402
from aggregator.store import Store  # noqa: E402
from wall.app import create_app  # noqa: E402

BUDGET = 200 * 1024
LAYOUTS = ("grid", "spotlight", "ticker")
BRANDING = tomllib.loads((REPO / "config" / "assises-umq.toml").read_text(encoding="utf-8"))[
    "branding"
]
NAMES = (*LAYOUTS, *(f"assises-{layout}" for layout in LAYOUTS))


async def weigh(client: httpx.AsyncClient, path: str) -> dict[str, int]:
    page = await client.get(path)
    sizes = {"html": len(page.content), "css": 0, "js": 0, "icons": 0, "fonts": 0}
    for url in sorted(set(re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text))):
        body = len((await client.get(url.replace("&amp;", "&"))).content)
        kind = "css" if ".css" in url else "js" if ".js" in url else "icons"
        sizes[kind] += body
    for url in sorted(set(re.findall(r'href="(/branding/[^"]+\.css)"', page.text))):
        css = (await client.get(url)).text
        sizes["css"] += len(css.encode())
        for font in sorted(set(re.findall(r'url\("([^"]+\.woff2[^"]*)"\)', css))):
            sizes["fonts"] += len((await client.get(font)).content)
    return sizes


async def measure(posts: int = 30) -> dict[str, dict[str, int]]:
    from tests.wall.wall_data import seed_demo

    folder = Path(tempfile.mkdtemp())
    store = Store(f"sqlite:///{folder}/weight.db")
    store.migrate()
    screens = [{"name": name, "layout": name} for name in LAYOUTS]
    screens += [{"name": f"assises-{name}", "layout": name, **BRANDING} for name in LAYOUTS]
    raw = {"storage": {"url": store.url}, "sources": [{"name": "demo", "type": "demo"}]}
    settings = settings_from_mapping({**raw, "screens": screens}, REPO / "config" / "x.toml")
    app = Livewall(settings, store=store, env={})
    seed_demo(app, posts)
    web = create_app(app)
    async with web.router.lifespan_context(web):
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://wall") as client:
            return {name: await weigh(client, f"/wall/{name}") for name in NAMES}


def main() -> int:
    results = asyncio.run(measure())
    for name, sizes in results.items():
        parts = ", ".join(f"{k} {v / 1024:.1f} KB" for k, v in sizes.items() if k != "fonts")
        fonts = f"; fonts {sizes['fonts'] / 1024:.1f} KB, once a year" if sizes["fonts"] else ""
        total = _counted(sizes) / 1024
        print(f"{name:18} {total:6.1f} KB  ({parts}{fonts})  budget {BUDGET // 1024} KB")
    return 0 if all(_counted(s) < BUDGET for s in results.values()) else 1


def _counted(sizes: dict[str, int]) -> int:
    return sum(v for k, v in sizes.items() if k != "fonts")


if __name__ == "__main__":
    sys.exit(main())
