"""Translations (gettext catalogues through Babel) and the French-first formatting of dates."""

from __future__ import annotations

import gettext
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_time, format_timedelta
from starlette.requests import Request
from starlette.responses import Response

from aggregator.digest.render import DIGEST_PACKAGE
from aggregator.i18n import LOCALES, load_catalogues


@cache
def translations(language: str) -> gettext.NullTranslations:
    """A language's catalogues, compiled in memory: the wall's own (one .po per part: wall,
    console, staff posts) and the digest's, which its pages share with its editions."""
    return load_catalogues(language, "wall", DIGEST_PACKAGE)


# The language a browser chose with a page's switch or `?lang=` (set by wall/language_cookie.py).
LANGUAGE_COOKIE = "livewall_lang"
LANGUAGE_COOKIE_SECONDS = 400 * 24 * 3600  # the most browsers keep a cookie
# Each language named in itself, as a switch shows it.
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}


def chosen_language(request: Request, available: Sequence[str], *then: str | None) -> str:
    """`?lang=` first (a switch's link), then each of `then` in order, the first that is
    available; else the first available language."""
    for asked in (request.query_params.get("lang"), *then):
        if asked and asked[:2] in available:
            return asked[:2]
    return available[0]


def remembered_language(request: Request) -> str | None:
    return request.cookies.get(LANGUAGE_COOKIE)


def remember_language(response: Response, language: str) -> None:
    response.set_cookie(
        LANGUAGE_COOKIE, language, max_age=LANGUAGE_COOKIE_SECONDS, httponly=True, samesite="lax"
    )


def kept_query(request: Request) -> list[tuple[str, str]]:
    return [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]


def this_page(request: Request) -> str:
    """The page's address without `?lang=`: where a switch sends back to."""
    query = urlencode(kept_query(request))
    return request.url.path + (f"?{query}" if query else "")


def switch_links(
    request: Request, available: Sequence[str], current: str
) -> list[tuple[str, str, str]]:
    """(code, name, address) of this very page in each other language: the switch's links."""
    path, kept = request.url.path, kept_query(request)
    return [
        (code, LANGUAGE_NAMES.get(code, code), f"{path}?{urlencode([*kept, ('lang', code)])}")
        for code in available
        if code != current
    ]


def ago(moment: datetime, language: str, now: datetime | None = None) -> str:
    """« il y a 2 min », « 2 min ago »."""
    now = now or datetime.now(UTC)
    delta = min(moment - now, timedelta(0))  # a clock ahead of ours is "just now", not "in 1 min"
    if delta.total_seconds() > -45:
        return translations(language).gettext("just now")
    return format_timedelta(
        delta, add_direction=True, format="short", threshold=1, locale=LOCALES[language]
    )


def hour_label(moment: datetime, language: str, zone: str) -> str:
    """« 14 h », « 2 p.m. »: an hour of the event's day, as a chart's axis shows it."""
    pattern = "H 'h'" if language == "fr" else "h a"
    return format_time(moment, pattern, tzinfo=ZoneInfo(zone), locale=LOCALES[language])


def long_datetime(moment: datetime, language: str, zone: str) -> str:
    """« 25 novembre 2026, 14 h 05 »."""
    if language == "fr":
        return format_datetime(moment, "d MMMM y, H 'h' mm", tzinfo=ZoneInfo(zone), locale="fr_CA")
    return format_datetime(moment, "MMMM d, y, h:mm a", tzinfo=ZoneInfo(zone), locale="en_CA")
