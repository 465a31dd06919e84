"""Translations (gettext catalogues through Babel) and the French-first formatting of dates."""

from __future__ import annotations

import gettext
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta

from aggregator.digest.render import DIGEST_PACKAGE
from aggregator.i18n import LOCALES, load_catalogues


@cache
def translations(language: str) -> gettext.NullTranslations:
    """A language's catalogues, compiled in memory: the wall's own (one .po per part: wall,
    console, staff posts) and the digest's, which its pages share with its editions."""
    return load_catalogues(language, "wall", DIGEST_PACKAGE)


def pick_language(asked: str | None, default: str, available: tuple[str, ...]) -> str:
    if asked and asked[:2] in available:
        return asked[:2]
    return default if default in available else available[0]


def ago(moment: datetime, language: str, now: datetime | None = None) -> str:
    """« il y a 2 min », « 2 min ago »."""
    now = now or datetime.now(UTC)
    delta = min(moment - now, timedelta(0))  # a clock ahead of ours is "just now", not "in 1 min"
    if delta.total_seconds() > -45:
        return translations(language).gettext("just now")
    return format_timedelta(
        delta, add_direction=True, format="short", threshold=1, locale=LOCALES[language]
    )


def long_datetime(moment: datetime, language: str, zone: str) -> str:
    """« 25 novembre 2026, 14 h 05 »."""
    if language == "fr":
        return format_datetime(moment, "d MMMM y, H 'h' mm", tzinfo=ZoneInfo(zone), locale="fr_CA")
    return format_datetime(moment, "MMMM d, y, h:mm a", tzinfo=ZoneInfo(zone), locale="en_CA")
