"""The form rules match text on, so that a blocked word cannot hide behind how it is written.

`fold` removes what a reader does not see or does not tell apart: compatibility forms
(fullwidth, mathematical letters, ligatures), default-ignorable code points (zero-width
characters, soft hyphen, word joiner, bidi controls, variation selectors), combining marks
(accents), case, and letters of other scripts that look like Latin ones (Unicode's
confusables data, from the maintained `confusable_homoglyphs` package). The folded form is
only ever compared; what screens display is the original text.
"""

from __future__ import annotations

import itertools
import re
import sys
from functools import cache, lru_cache
from unicodedata import category, normalize

from confusable_homoglyphs import confusables

# Default_Ignorable_Code_Point, from Unicode's DerivedCoreProperties.txt (stable since 6.x).
DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
    (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)  # fmt: skip
_MARKS = ("Mn", "Me")  # combining marks: accents, and the marks used to disguise letters


def _latin_letter(char: str, candidates: list[str]) -> str | None:
    """The ASCII letter among a character's look-alikes, of the character's own case first
    (Greek capital Ι is I, not the l it also resembles)."""
    letters = [c for c in candidates if len(c) == 1 and c.isascii() and c.isalpha()]
    same_case = [c for c in letters if c.isupper() == char.isupper()]
    found = same_case or letters
    letter = found[0] if found else None
    # Unicode's data writes capital I's look-alikes (Greek Ι, Cyrillic І) as "l", the skeleton
    # of I itself; a capital is a capital I.
    return "I" if letter == "l" and char.isupper() else letter


@cache
def _table() -> dict[int, str | None]:
    """One translation table: ignorables dropped, non-Latin look-alikes to their Latin letter.

    Built once (about 0.3 s: the package's JSON and a pass over the code points), then every
    fold is a C-level translate.
    """
    table: dict[int, str | None] = {}
    for char, glyphs in confusables.confusables_data.items():
        if len(char) != 1:
            continue
        if char.isascii():
            # "i" lists "і" (Cyrillic), "ı", "ι" …: each of those folds to "i".
            if char.isalpha():
                for glyph in glyphs:
                    look_alike = glyph["c"]
                    if len(look_alike) == 1 and not look_alike.isascii():
                        table.setdefault(ord(look_alike), char.lower())
        elif (letter := _latin_letter(char, [g["c"] for g in glyphs])) is not None:
            table[ord(char)] = letter.lower()  # the character's own entry wins
    ignored = (code for first, last in DEFAULT_IGNORABLE for code in range(first, last + 1))
    marks = (code for code in range(sys.maxunicode + 1) if category(chr(code)) in _MARKS)
    table.update(dict.fromkeys(itertools.chain(ignored, marks)))
    return table


def warm() -> None:
    """Build the table now (at start) rather than on the first post of the event."""
    _table()


def fold(text: str) -> str:
    """The matching form of a text: « Élu », « ＥＬＵ », « е\u200blu » (Cyrillic е) all give « elu ».

    Line by line, each line's form kept for a while: a post's text is folded for its
    fingerprint, the flood rule and, among its other readable lines, the blocked words.
    """
    if "\n" not in text:
        return _fold_line(text)
    return "\n".join(map(_fold_line, text.split("\n")))


@lru_cache(maxsize=4096)
def _fold_line(text: str) -> str:
    if text.isascii():
        return text.casefold()
    # Look-alikes before and after case folding: capitals first (Greek ΤΟ is TO), then the
    # small letters folding made or that were there (Cyrillic і).
    latin = _translated(normalize("NFKD", text)).casefold()
    return normalize("NFC", _translated(normalize("NFKD", latin)))


# The table maps no ASCII character: only the runs of others are looked up, one by one
# (a French post is mostly ASCII; translating it whole looked up every letter).
_OTHERS = re.compile(r"[^\x00-\x7f]+")


def _translated(text: str) -> str:
    return _OTHERS.sub(_translated_run, text)


def _translated_run(run: re.Match[str]) -> str:
    return run.group().translate(_table())


def looks_plain(text: str) -> bool:
    """Whether the text holds no look-alike letter or invisible character (accents allowed)."""
    table = _table()
    decomposed = normalize("NFKD", text)
    decomposed += normalize("NFKD", decomposed.casefold())
    return not any(table.get(ord(ch), ch) != ch and category(ch) not in _MARKS for ch in decomposed)
