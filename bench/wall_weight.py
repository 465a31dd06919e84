"""How much a hallway screen downloads before images: HTML + CSS + JS (+ icons), in bytes.

    .venv/bin/python bench/wall_weight.py

Builds a wall on a temporary SQLite file with 30 demo posts (a full first page) and asks
each layout's page and its static files through the ASGI app. The budget is 200 KB.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
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


async def weigh(client: httpx.AsyncClient, path: str) -> dict[str, int]:
    page = await client.get(path)
    sizes = {"html": len(page.content), "css": 0, "js": 0, "icons": 0}
    for url in sorted(set(re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text))):
        body = len((await client.get(url.replace("&amp;", "&"))).content)
        kind = "css" if ".css" in url else "js" if ".js" in url else "icons"
        sizes[kind] += body
    return sizes


async def measure(posts: int = 30) -> dict[str, dict[str, int]]:
    from tests.wall.wall_data import seed_demo

    folder = Path(tempfile.mkdtemp())
    store = Store(f"sqlite:///{folder}/weight.db")
    store.migrate()
    screens = [{"name": name, "layout": name} for name in LAYOUTS]
    raw = {"storage": {"url": store.url}, "sources": [{"name": "demo", "type": "demo"}]}
    settings = settings_from_mapping({**raw, "screens": screens}, REPO / "config" / "x.toml")
    app = Livewall(settings, store=store, env={})
    seed_demo(app, posts)
    web = create_app(app)
    async with web.router.lifespan_context(web):
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://wall") as client:
            return {name: await weigh(client, f"/wall/{name}") for name in LAYOUTS}


def main() -> int:
    results = asyncio.run(measure())
    for name, sizes in results.items():
        total = sum(sizes.values())
        parts = ", ".join(f"{k} {v / 1024:.1f} KB" for k, v in sizes.items())
        print(f"{name:10} {total / 1024:6.1f} KB  ({parts})  budget {BUDGET // 1024} KB")
    return 0 if all(sum(s.values()) < BUDGET for s in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
