"""The digest's editions: an HTML fragment (web page, Atom entry), an email and plain text.

Aggregator may not import wall, so the environment factory is aggregator's (templating.py)
and the digest's catalogue lives here, in aggregator/digest/locale: the wall's digest pages
load it too.
"""

from __future__ import annotations

import gettext
import textwrap
from dataclasses import dataclass
from functools import cache
from typing import Any

import css_inline
from babel.dates import format_date, format_time
from babel.numbers import format_decimal
from jinja2 import Environment
from markupsafe import Markup

from aggregator import templating
from aggregator.digest.select import DayContent
from aggregator.i18n import LOCALES, load_catalogues
from aggregator.templating import network_name

DAY_MONTH = {"fr": "d MMMM", "en": "MMMM d"}  # « 25 novembre », "November 25"
DIGEST_PACKAGE = "aggregator.digest"
CHART_WIDTH, CHART_HEIGHT = 600, 110
# Up to this many posts the email (and the feed entry) lists them all; above, it carries the
# highlights and links to the day's page: Gmail clips a message past 102 KB, and a phone
# reader gives up long before.
EMAIL_ALL_POSTS_LIMIT = 30
# In the whole day's list a text is cut past this many characters: a post fits (Mastodon's
# default is 500), a news feed's article summary does not need to; the link has the rest.
ITEM_TEXT_LIMIT = 500


@dataclass(frozen=True)
class Edition:
    """One language's digest, ready to publish or send."""

    language: str
    subject: str
    preheader: str
    body: str  # HTML fragment for the web page and the feed
    email_html: str  # a whole document, CSS inlined
    text: str


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The digest's catalogue: its editions' strings and its web pages' (the wall loads it)."""
    return load_catalogues(language, DIGEST_PACKAGE)


@cache
def environment(language: str) -> Environment:
    env = templating.environment(DIGEST_PACKAGE, language, translations(language))
    locale = LOCALES[language]
    env.globals["chart"] = chart_svg
    env.filters["hm"] = lambda moment: clock(moment, language)
    env.filters["longday"] = lambda day: format_date(day, "full", locale=locale)
    env.filters["hour"] = lambda hour: hour_label(hour, language)
    env.filters["number"] = lambda n: format_decimal(n, locale=locale)
    env.filters["network"] = network_name
    env.filters["upfirst"] = lambda text: text[:1].upper() + text[1:]
    env.filters["shorten"] = lambda text: shorten(text, ITEM_TEXT_LIMIT)
    return env


def clock(moment: Any, language: str) -> str:
    """« 14 h 05 » in French, « 2:05 p.m. » in English."""
    if language == "fr":
        return format_time(moment, "H 'h' mm", locale="fr_CA")
    return format_time(moment, "h:mm a", locale="en_CA")


def hour_label(hour: int, language: str) -> str:
    if language == "fr":
        return f"{hour} h"
    suffix = "a.m." if hour % 24 < 12 else "p.m."
    return f"{(hour - 1) % 12 + 1} {suffix}"


def chart_svg(hours: tuple[tuple[int, int], ...], label: str, linked: bool = False) -> Markup:
    """Posts per hour as an inline SVG: presentation attributes only (the pages' CSP forbids
    style attributes), a bar per hour and every other hour labelled; `linked`: each bar
    leads to its hour in the day's list."""
    if not hours:
        return Markup("")
    peak = max(count for _, count in hours) or 1
    # A fixed drawing width: the chart keeps one shape whether the day had 4 hours or 14.
    step = CHART_WIDTH / len(hours)
    width = step * 0.7
    parts = [
        f'<svg class="digest-chart" viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT + 20}" '
        f'role="img" aria-label="{Markup.escape(label)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for index, (hour, count) in enumerate(hours):
        height = max(round(CHART_HEIGHT * count / peak), 2 if count else 0)
        x = round(index * step + (step - width) / 2, 1)
        peak_class = " peak" if count == peak else ""
        bar = (
            f'<rect class="bar{peak_class}" x="{x}" y="{CHART_HEIGHT - height}" '
            f'width="{width:.1f}" height="{height}" rx="4" fill="#9db7d5">'
            f"<title>{hour} h: {count}</title></rect>"
        )
        parts.append(f'<a href="#h{hour:02d}">{bar}</a>' if linked and count else bar)
        if index % 2 == 0 or len(hours) <= 8:
            parts.append(
                f'<text x="{x + width / 2:.1f}" y="{CHART_HEIGHT + 18}" text-anchor="middle" '
                f'font-size="17" fill="#5b6675">{hour}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _context(
    content: DayContent, language: str, public_url: str, limit: int | None
) -> dict[str, Any]:
    """`limit`: list every post only up to that many (None: always, as the web page does)."""
    day = content.day.isoformat()
    lang_query = "" if language == "fr" else f"?lang={language}"
    page_url = f"{public_url}/digest/{day}{lang_query}"
    return {
        "c": content,
        "page_url": page_url,
        "lists_all": limit is None or content.numbers.posts <= limit,
        # The web page links to its own parts; an email or a feed entry to the page's.
        "anchor_base": "" if limit is None else page_url,
        "archive_url": f"{public_url}/digest/",
        "feed_url": f"{public_url}/digest/feed.xml",
        "english_url": f"{public_url}/digest/{day}?lang=en" if "en" in content.languages else None,
        "public_url": public_url,
        "bar_heights": bar_heights(content.hours),
    }


def bar_heights(hours: tuple[tuple[int, int], ...]) -> list[tuple[int, int, int]]:
    """(hour, posts, pixels) for the email's table chart: mail readers drop inline SVG."""
    peak = max((count for _, count in hours), default=0) or 1
    return [(h, n, max(round(64 * n / peak), 2 if n else 1)) for h, n in hours]


def render(name: str, language: str, **context: Any) -> str:
    return environment(language).get_template(name).render(**context)


def subject(content: DayContent, language: str) -> str:
    _ = translations(language).gettext
    day = format_date(content.day, DAY_MONTH[language], locale=LOCALES[language])
    return _("%(event)s — the day of %(day)s") % {"event": content.event_name, "day": day}


def preheader(content: DayContent, language: str) -> str:
    """The line mail readers show beside the subject: what is inside, in one breath."""
    ngettext = translations(language).ngettext
    n = content.numbers
    parts = [
        ngettext("%(n)s post", "%(n)s posts", n.posts) % {"n": _n(n.posts, language)},
        ngettext("%(n)s contributor", "%(n)s contributors", n.contributors)
        % {"n": _n(n.contributors, language)},
    ]
    lead = (content.featured or content.highlights or content.posts)[:1]
    if lead and lead[0].text:
        parts.append(shorten(lead[0].text, 90))
    return " · ".join(parts)


def _n(value: int, language: str) -> str:
    return format_decimal(value, locale=LOCALES[language])


def shorten(text: str, limit: int) -> str:
    """On one line, cut at a word before `limit` characters, with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


@cache
def _inliner() -> css_inline.CSSInliner:
    # Media queries cannot be inlined: they stay in a <style> for readers that honour them.
    return css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def body_html(
    content: DayContent,
    language: str,
    public_url: str,
    base_url: str = "",
    limit: int | None = None,
) -> str:
    """The digest as an HTML fragment: for the web page (relative images, every post) or,
    with `base_url` and `limit`, for the Atom feed."""
    context = _context(content, language, public_url, limit)
    return render("body.html", language, **context, base_url=base_url, email=False)


def edition(content: DayContent, language: str, public_url: str) -> Edition:
    """Every output of one language's digest, from the same chosen content."""
    context = _context(content, language, public_url, EMAIL_ALL_POSTS_LIMIT)
    head = {"subject": subject(content, language), "preheader": preheader(content, language)}
    body = body_html(content, language, public_url)
    email_body = render("body.html", language, **context, base_url=public_url, email=True)
    email = render("email.html", language, **context, **head, body=Markup(email_body))
    text = render("digest.txt", language, **context, **head, wrap=wrap)
    return Edition(
        language, head["subject"], head["preheader"], body, _inliner().inline(email), text
    )


def wrap(text: str, indent: str = "", width: int = 72) -> str:
    return textwrap.fill(
        " ".join(text.split()), width=width, initial_indent=indent, subsequent_indent=indent
    )
