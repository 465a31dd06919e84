"""Untrusted HTML becomes data: an allowlist sanitizer (nh3) and a plain-text copy."""

from __future__ import annotations

import html
import re

import nh3

ALLOWED_TAGS = frozenset({"p", "br", "a", "em", "strong", "b", "i", "blockquote", "span"})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
LINK_REL = "nofollow noopener noreferrer"
SAFE_SCHEMES = ("http://", "https://")

# Custom emoji arrive as <img alt=":name:">; a screen may not load remote images, so the
# shortcode text stands in for the picture.
_EMOJI_IMG = re.compile(r"<img\b[^>]*\balt=\"(:[\w+-]+:)\"[^>]*>", re.IGNORECASE)
_BLOCK_END = re.compile(r"</p\s*>|<br\s*/?>|</blockquote\s*>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")


# NUL and lone surrogates: no store keeps them (PostgreSQL refuses both), no reader sees them.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: str | None, limit: int) -> str:
    """Text every store accepts, at most `limit` characters."""
    return _UNSTORABLE.sub("", value[:limit]) if value else ""


def safe_url(url: str | None) -> str | None:
    """Only http(s) URLs go into an href or src; anything else is dropped."""
    if url and url.strip().lower().startswith(SAFE_SCHEMES):
        return url.strip()
    return None


def _only_absolute_http(tag: str, attribute: str, value: str) -> str | None:
    # nh3 lets relative URLs through; on a wall they would point at our own origin.
    if attribute in ("href", "src"):
        return safe_url(value)
    return value


def clean_html(untrusted: str) -> str:
    """Sanitized HTML: paragraphs, line breaks, links and emphasis; nothing executable."""
    untrusted = _EMOJI_IMG.sub(r"\1", untrusted)
    return nh3.clean(
        untrusted,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_only_absolute_http,
        link_rel=LINK_REL,
        url_schemes={"http", "https"},
        strip_comments=True,
    ).strip()


def plain_text(fragment: str) -> str:
    """The text a person reads, with paragraphs as line breaks."""
    with_breaks = _BLOCK_END.sub("\n", fragment)
    text = html.unescape(nh3.clean(with_breaks, tags=set()))
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


_URL = re.compile(r"https?://[^\s<>\"']+")
_PARAGRAPHS = re.compile(r"\n\s*\n")


def text_to_html(text: str) -> str:
    """HTML for a post that came as plain text: escaped, paragraphs kept, links made.

    Without links it is safe as built (every <, > and & of the text escaped) and skips the
    sanitizer; a link goes through it, which drops an address that is not one."""
    paragraphs = [p for p in _PARAGRAPHS.split(text.strip()) if p.strip()]
    parts = []
    for paragraph in paragraphs:
        escaped = html.escape(paragraph, quote=False).replace("\n", "<br>")
        parts.append(f"<p>{_URL.sub(_link, escaped)}</p>")
    made = "".join(parts)
    return clean_html(made) if "<a " in made else made


def _link(match: re.Match[str]) -> str:
    url = match.group(0)
    return f'<a href="{url}">{url}</a>'
