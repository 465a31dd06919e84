"""Jinja2 environments: the one factory behind the wall's pages and the digest's editions.

Both render with livewall's gettext catalogues (`{% trans %}`, `_()`), escape by file
extension (.html and .xml escaped, .txt not: name templates after what they produce) and
show a network by its name.
"""

from __future__ import annotations

import gettext

from jinja2 import Environment, PackageLoader, select_autoescape

NETWORK_NAMES = {
    "mastodon": "Mastodon", "bluesky": "Bluesky", "youtube": "YouTube", "feed": "Web",
    "instagram": "Instagram", "linkedin": "LinkedIn", "x": "X", "facebook": "Facebook",
    "webhook": "Web",
}  # fmt: skip


def network_name(network: str) -> str:
    """« Mastodon », « Web »: a network as people call it."""
    return NETWORK_NAMES.get(network, network.title())


def environment(package: str, language: str, translations: gettext.NullTranslations) -> Environment:
    """An environment for the templates of `package` in one interface language."""
    env = Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(lang=language, network_name=network_name)
    return env
