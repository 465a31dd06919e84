"""`make messages`: each string the code and templates mark for translation, in the catalogue
of the part that shows it, for a translator to fill in.

The French catalogues are split by part: wall/locale/fr/LC_MESSAGES/{wall,console,staff_posts,slides}.po
and aggregator/digest/locale/fr/LC_MESSAGES/digest.po, which the wall's digest pages share with
the digest's editions. A marked string that no catalogue holds yet is added, untranslated, to
the catalogue of the first file that marks it; nothing is ever removed, since some strings are
translated where data is shown (a post's status, a source's state) without being marked.

    python -m wall.catalogues [ROOT]
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import normalize, read_po

FRENCH = "locale/fr/LC_MESSAGES"
WALL = f"wall/{FRENCH}/wall.po"
CONSOLE = f"wall/{FRENCH}/console.po"
DIGEST = f"aggregator/digest/{FRENCH}/digest.po"
SLIDES = f"wall/{FRENCH}/slides.po"
# Where a new string goes, by the path of the first file that marks it (first match wins).
PARTS = (
    ("aggregator/digest/", DIGEST),
    ("wall/digest.py", DIGEST),
    ("wall/templates/digest/", DIGEST),
    ("wall/console/slides.py", SLIDES),
    ("wall/templates/console/slide", SLIDES),
    ("wall/slides.py", SLIDES),
    ("wall/console/", CONSOLE),
    ("wall/templates/console/", CONSOLE),
    ("", WALL),
)
CATALOGUES = (f"wall/{FRENCH}/*.po", f"aggregator/digest/{FRENCH}/*.po")
TEMPLATES = ("**/templates/**.html", "**/templates/**.xml", "**/templates/**.txt")
METHODS = [("**.py", "python"), *((pattern, "jinja2") for pattern in TEMPLATES)]
OPTIONS = {pattern: {"extensions": "jinja2.ext.i18n"} for pattern in TEMPLATES}


@dataclass(frozen=True)
class Marked:
    """A string marked for translation, where it is first marked."""

    msgid: str
    plural: str | None
    path: str  # relative to the root, with forward slashes
    line: int

    @property
    def catalogue(self) -> str:
        return next(catalogue for prefix, catalogue in PARTS if self.path.startswith(prefix))

    def entry(self) -> str:
        lines = [f"#: {self.path}:{self.line}", f"msgid {normalize(self.msgid)}"]
        if self.plural is None:
            lines.append('msgstr ""')
        else:
            lines += [f"msgid_plural {normalize(self.plural)}", 'msgstr[0] ""', 'msgstr[1] ""']
        return "\n".join(lines)


def marked(root: Path) -> Iterator[Marked]:
    """Every string marked in wall/ and aggregator/, once, at its first place."""
    seen: set[str] = set()
    for part in ("wall", "aggregator"):
        found = extract_from_dir(root / part, method_map=METHODS, options_map=OPTIONS)
        for name, line, message, _comments, _context in found:
            msgid, plural = (message, None) if isinstance(message, str) else message[:2]
            if msgid and msgid not in seen:
                seen.add(msgid)
                yield Marked(msgid, plural, f"{part}/{Path(name).as_posix()}", line)


def held(root: Path) -> set[str]:
    """The msgids every catalogue holds, translated or not."""
    ids: set[str] = set()
    for pattern in CATALOGUES:
        for path in root.glob(pattern):
            with path.open("rb") as file:
                ids.update(m.id if isinstance(m.id, str) else m.id[0] for m in read_po(file))
    return ids


def add_missing(root: Path) -> dict[str, list[Marked]]:
    """Append each marked string no catalogue holds to its part's catalogue; return them."""
    known = held(root)
    added: dict[str, list[Marked]] = {}
    for string in marked(root):
        if string.msgid not in known:
            added.setdefault(string.catalogue, []).append(string)
    for catalogue, strings in added.items():
        with (root / catalogue).open("a", encoding="utf-8") as file:
            file.write("".join(f"\n{string.entry()}\n" for string in strings))
    return added


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    root = Path(args[0]) if args else Path(__file__).resolve().parent.parent
    added = add_missing(root)
    for catalogue, strings in added.items():
        print(f"{catalogue}: {len(strings)} new string(s) to translate")
    if not added:
        print("every marked string is in a catalogue")
    return 0


if __name__ == "__main__":
    sys.exit(main())
