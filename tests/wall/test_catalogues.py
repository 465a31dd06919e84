"""`make messages`: a newly marked string lands, untranslated, in its part's catalogue, and
nothing a catalogue holds is lost."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from wall.catalogues import CONSOLE, DIGEST, WALL, add_missing, main

HEADER = (
    'msgid ""\nmsgstr ""\n"Language: fr_CA\\n"\n"Plural-Forms: nplurals=2; plural=(n > 1);\\n"\n'
    '\nmsgid "Kept"\nmsgstr "Gardé"\n'
)


def tree(root: Path) -> None:
    files = {
        "wall/console/page.py": '_("Queue")\n_("Kept")\n',
        "wall/templates/console/page.html": '{{ _("Shared") }}\n',
        "wall/templates/wall/screen.html": '{{ _("Shared") }}{{ _("A \\"quoted\\" word") }}\n',
        "wall/i18n.py": 'ngettext("%(n)s screen", "%(n)s screens", 2)\n',
        "aggregator/digest/render.py": '_("The day")\n',
        "aggregator/sources.py": 'state = "paused"\n',
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    for catalogue in (WALL, CONSOLE, DIGEST):
        (root / catalogue).parent.mkdir(parents=True, exist_ok=True)
        (root / catalogue).write_text(HEADER, encoding="utf-8")
    # Shown from data, marked nowhere: it must stay.
    with (root / CONSOLE).open("a", encoding="utf-8") as file:
        file.write('\nmsgid "paused"\nmsgstr "en pause"\n')


def catalogue(root: Path, name: str) -> dict[str, object]:
    with (root / name).open("rb") as file:
        return {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in read_po(file) if m.id}


def test_new_strings_go_to_their_parts_catalogue_and_nothing_is_lost(tmp_path: Path) -> None:
    tree(tmp_path)
    assert main([str(tmp_path)]) == 0
    assert catalogue(tmp_path, CONSOLE) == {
        "Kept": "Gardé", "paused": "en pause", "Queue": "", "Shared": "",
    }  # fmt: skip
    assert catalogue(tmp_path, WALL) == {
        "Kept": "Gardé", 'A "quoted" word': "", "%(n)s screen": ("", ""),
    }  # fmt: skip
    assert catalogue(tmp_path, DIGEST) == {"Kept": "Gardé", "The day": ""}
    assert "#: wall/console/page.py:1" in (tmp_path / CONSOLE).read_text(encoding="utf-8")
    assert add_missing(tmp_path) == {}  # a second run finds nothing new


def test_make_messages_runs_on_the_catalogues_as_they_are(tmp_path: Path) -> None:
    """`make messages` on a copy of the project: it exits 0 and, every marked string being in
    a catalogue already, changes nothing (a new string without its catalogue entry fails)."""
    repo = Path(__file__).resolve().parents[2]
    for part in ("wall", "aggregator"):
        shutil.copytree(repo / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.po")}
    done = subprocess.run(
        [sys.executable, "-m", "wall.catalogues", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=repo,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.strip() == "every marked string is in a catalogue", (
        f"run `make messages` and translate: {done.stdout}"
    )
    assert len(before) >= 4 and {p: p.read_bytes() for p in tmp_path.rglob("*.po")} == before
