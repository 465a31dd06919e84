"""Every setting is documented: docs/configuration.md is generated and must be current."""

from __future__ import annotations

import re
from pathlib import Path

from aggregator.docs import documented_keys, settings_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
VARIABLE = re.compile(r"\b(LIVEWALL_[A-Z0-9_]+)\b")
# Besides the code, what the deployment recipes set (the container, compose, systemd units).
RECIPES = ("Dockerfile", "compose.yaml", "deploy/*.service", "deploy/env.example")


def test_reference_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == settings_markdown(), "run `make docs`"


def test_every_key_has_help_text_and_a_row() -> None:
    text = DOC.read_text(encoding="utf-8")
    for section, key in documented_keys():
        assert f"| `{key}` |" in text, f"{section} {key} is not documented"
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert all(not line.rstrip().endswith("|  |") for line in rows), "a key has no help text"


def test_every_environment_variable_the_program_reads_is_documented() -> None:
    repo = DOC.parents[1]
    code = [
        p
        for folder in ("aggregator", "wall", "collectors")
        for pattern in ("*.py", "*.html", "*.js")
        for p in (repo / folder).rglob(pattern)
    ]
    code += [p for pattern in RECIPES for p in repo.glob(pattern)]
    named = {name for path in code for name in VARIABLE.findall(path.read_text(encoding="utf-8"))}
    assert {"LIVEWALL_SECRET_KEY", "LIVEWALL_API_TOKEN", "LIVEWALL_SMTP_USER"} <= named
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Environment variables") :]
    assert [
        name for name in sorted(named) if f"`{name}`" not in section and f'"{name}"' not in section
    ] == []
