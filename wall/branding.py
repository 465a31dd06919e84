"""The event's look on the screens: its logo, stylesheet and colours served from our origin.

Everything is read once, at start (the settings already checked it), and served under
`/branding/<hash>.<ext>`: the name changes with the content, so screens cache it for a year.
A screen's colours and font reach wall.css as CSS custom properties, in a small stylesheet
made from the settings and linked after wall.css (no inline style: the pages' CSP forbids it).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aggregator.branding import Brand, logo_type
from aggregator.settings import Settings
from wall.assets import Assets
from wall.media import ONE_YEAR

NAME = re.compile(r"[0-9a-f]{16}\.(?:css|png|jpg|gif|webp|svg)")
EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/svg+xml": "svg",
    "text/css": "css",
}
# An SVG logo opened on its own runs nothing and loads nothing.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
DEFAULT_FONTS = '"Noto Sans", "DejaVu Sans", "Segoe UI", system-ui'


@dataclass(frozen=True)
class Look:
    """What a page needs to wear a brand: the logo's address and the stylesheets to link."""

    logo: str | None = None
    stylesheets: tuple[str, ...] = ()

    @property
    def css_class(self) -> str:
        return "branded" if self.stylesheets else ""


@dataclass(frozen=True)
class Served:
    body: bytes
    content_type: str


class BrandFiles:
    """The looks of `[branding]` (key None) and of each screen, and the files they use."""

    def __init__(self, settings: Settings, assets: Assets) -> None:
        self.assets = assets
        self.files: dict[str, Served] = {}
        self.looks: dict[str | None, Look] = {None: self._look(settings.brand())}
        for screen in settings.screens:
            self.looks[screen.name] = self._look(settings.brand(screen))

    def look(self, screen: str | None = None) -> Look:
        return self.looks.get(screen) or self.looks[None]

    def routes(self) -> list[Route]:
        return [Route("/branding/{name}", self.serve)]

    async def serve(self, request: Request) -> Response:
        name = request.path_params["name"]
        found = self.files.get(name) if NAME.fullmatch(name) else None
        if found is None:
            raise HTTPException(404, "no such branding file")
        headers = {"Cache-Control": ONE_YEAR}
        if found.content_type == "image/svg+xml":
            headers["Content-Security-Policy"] = SVG_POLICY
        return Response(found.body, media_type=found.content_type, headers=headers)

    def _look(self, brand: Brand) -> Look:
        logo, sheet = brand.file("logo"), brand.file("stylesheet")
        variables = css_variables(brand, self.assets)
        stylesheets = [self._keep(variables.encode(), "text/css")] if variables else []
        if sheet is not None:
            stylesheets.append(self._keep(sheet.read_bytes(), "text/css"))
        logo_url = None
        if logo is not None:
            raw = logo.read_bytes()
            logo_url = self._keep(raw, logo_type(raw))
        return Look(logo_url, tuple(stylesheets))

    def _keep(self, body: bytes, content_type: str) -> str:
        name = f"{hashlib.sha256(body).hexdigest()[:16]}.{EXTENSIONS[content_type]}"
        self.files[name] = Served(body, content_type)
        return f"/branding/{name}"


def css_variables(brand: Brand, assets: Assets) -> str:
    """The brand's font faces and custom properties, or "" when it changes neither."""
    rules, variables = [], {}
    if brand.custom_colours:
        variables.update(brand.palette.css_variables())
    font = brand.font
    if font is not None:
        slug = brand.values["font"]
        for weight in font.weights:
            url = assets.url(f"fonts/{slug}-{weight}.woff2")
            rules.append(
                f'@font-face {{ font-family: "{font.family}"; src: url("{url}") format("woff2"); '
                f"font-weight: {weight}; font-style: normal; font-display: swap; }}"
            )
        variables["--font"] = f'"{font.family}", {DEFAULT_FONTS}, {font.fallback}'
    if not variables:
        return ""
    declarations = " ".join(f"{name}: {value};" for name, value in variables.items())
    rules.append(f"body.branded {{ {declarations} }}")
    return "/* The event's look, made from its settings ([branding], [[screens]]). */\n" + (
        "\n".join(rules) + "\n"
    )
