"""Every user-facing string has its French translation: French is the first language."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = [
    *ROOT.glob("wall/locale/fr/LC_MESSAGES/*.po"),
    *ROOT.glob("aggregator/digest/locale/fr/LC_MESSAGES/*.po"),
]
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def french() -> dict[str, str]:
    translated: dict[str, str] = {}
    for path in CATALOGUES:
        with path.open("rb") as file:
            for message in read_po(file):
                key = message.id if isinstance(message.id, str) else message.id[0]
                text = message.string if isinstance(message.string, str) else message.string[0]
                if key and text and not message.fuzzy:
                    translated[key] = text
    return translated


def test_every_string_shown_to_people_is_translated_to_french() -> None:
    translated = french()
    missing = [
        f"{part}/{name}:{line}: {message if isinstance(message, str) else message[0]!r}"
        for part in ("wall", "aggregator")
        for name, line, message, _, _ in extract_from_dir(
            ROOT / part, method_map=METHODS, options_map=OPTIONS
        )
        if (message if isinstance(message, str) else message[0]) not in translated
    ]
    assert len(translated) > 200 and not missing, "\n".join(missing)
