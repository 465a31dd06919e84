"""The wall's templates: an environment per interface language (aggregator/templating.py's
factory) with the wall's static files and filters."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment
from starlette.responses import HTMLResponse

from aggregator.i18n import LOCALES
from aggregator.templating import environment
from collectors.base import NETWORK
from wall.assets import Assets
from wall.i18n import ago, long_datetime, translations


class Templates:
    def __init__(self, assets: Assets, zone: str, globals_: dict[str, Any] | None = None) -> None:
        self.assets = assets
        self.zone = zone
        self._envs = {lang: self._environment(lang, globals_ or {}) for lang in LOCALES}

    def _environment(self, language: str, globals_: dict[str, Any]) -> Environment:
        env = environment("wall", language, translations(language))
        env.globals.update(globals_, static=self.assets.url, version=self.assets.version)
        env.filters["ago"] = lambda moment: ago(moment, language)
        env.filters["longdate"] = lambda moment: long_datetime(moment, language, self.zone)
        env.filters["isodate"] = lambda moment: moment.isoformat() if moment else ""
        env.filters["token"] = token
        return env

    def compiled(self, language: str) -> set[str]:
        """The templates of `language` compiled so far (what a render takes from the cache)."""
        return {name for _, name in self._envs[language].cache or {}}

    def render(self, name: str, language: str, **context: Any) -> str:
        return self._envs[language].get_template(name).render(**context)

    def response(self, name: str, language: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.render(name, language, **context), status_code=status)


def token(value: str | None) -> str:
    """A value made part of a class name: a plain token, or 'other' (never a second class)."""
    return value if value and NETWORK.fullmatch(value) else "other"


def initials(name: str) -> str:
    words = [w for w in name.replace("@", " ").split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def hue(text: str) -> int:
    """A stable colour for an author without an avatar."""
    return sum(map(ord, text)) * 37 % 360
