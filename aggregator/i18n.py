"""gettext catalogues compiled in memory from .po files (no .mo files in the repository)."""

from __future__ import annotations

import gettext
import io
from importlib.abc import Traversable

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations


def load_catalogues(folder: Traversable, locale: str) -> gettext.NullTranslations:
    """Every .po file of `folder`, merged in name order; none gives the identity translation."""
    merged: gettext.NullTranslations = gettext.NullTranslations()
    if not folder.is_dir():
        return merged
    for po in sorted((p for p in folder.iterdir() if p.name.endswith(".po")), key=lambda p: p.name):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        part = Translations(buffer)
        if isinstance(merged, Translations):
            merged.merge(part)
        else:
            merged = part
    return merged
