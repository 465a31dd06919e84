"""gettext catalogues compiled in memory from .po files (no .mo files in the repository).

Each package keeps its catalogues in `locale/<language>/LC_MESSAGES/*.po`; English is the
source language of the msgids, so it needs none.
"""

from __future__ import annotations

import gettext
import io
from importlib import resources
from importlib.abc import Traversable

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations


def N_(message: str) -> str:
    """Marks a string for the catalogues that is translated where it is shown, not here (a
    status, a state, an error kept in English in the logs): `make messages` finds it, and the
    test that every catalogued string is still used sees that it is."""
    return message


# The interface languages and the Babel locale each one formats dates and numbers with.
LOCALES = {"fr": "fr_CA", "en": "en_CA"}


def catalogue_folder(package: str, language: str) -> Traversable:
    return resources.files(package) / "locale" / language / "LC_MESSAGES"


def load_catalogues(language: str, *packages: str) -> gettext.NullTranslations:
    """Every .po file of the packages' folders for `language`, merged in order (by name within
    a folder); none gives the identity translation."""
    locale = LOCALES.get(language, language)
    merged: gettext.NullTranslations = gettext.NullTranslations()
    for package in packages:
        folder = catalogue_folder(package, language)
        if not folder.is_dir():
            continue
        for po in sorted((p for p in folder.iterdir() if p.name.endswith(".po")), key=str):
            part = _compiled(po, locale)
            if isinstance(merged, Translations):
                merged.merge(part)
            else:
                merged = part
    return merged


def _compiled(po: Traversable, locale: str) -> Translations:
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)
