"""Every user-facing string has its French translation (French is the first language), and every
string the catalogues hold is still shown somewhere: a catalogue is what people read, not a
graveyard of old sentences."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

from wall.catalogues import CATALOGUES, marked

ROOT = Path(__file__).resolve().parent.parent


def french() -> dict[str, str]:
    """msgid -> its French, for every entry of every French catalogue (empty: untranslated)."""
    translated: dict[str, str] = {}
    for pattern in CATALOGUES:
        for path in ROOT.glob(pattern):
            with path.open("rb") as file:
                for message in read_po(file):
                    key = message.id if isinstance(message.id, str) else message.id[0]
                    text = message.string if isinstance(message.string, str) else message.string[0]
                    if key:
                        translated[key] = "" if message.fuzzy else text
    return translated


def test_every_string_shown_to_people_is_translated_to_french() -> None:
    translated = french()
    missing = [
        f"{string.path}:{string.line}: {string.msgid!r}"
        for string in marked(ROOT)
        if not translated.get(string.msgid)
    ]
    assert len(translated) > 200 and not missing, "\n".join(missing)


def test_every_string_of_the_catalogues_is_still_used() -> None:
    used = {string.msgid for string in marked(ROOT)}
    unused = sorted(set(french()) - used)
    assert not unused, (
        "in a catalogue but marked nowhere (remove it, or mark it with N_() where it is "
        "translated from data):\n" + "\n".join(map(repr, unused))
    )
