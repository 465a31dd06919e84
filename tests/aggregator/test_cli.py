"""The `livewall` command as a person runs it: a real process, a real store, readable lines."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import REQUIRED_POST_FIELDS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "event.toml"
    path.write_text(
        f"""
[event]
name = "Assises CLI"
hashtags = ["AssisesUMQ"]
[storage]
url = "{database_url}"
[moderation]
mode = "post"
blocked_words = {{ fr = "{REPO}/config/blocked-words/fr.txt", en = "{REPO}/config/blocked-words/en.txt" }}
[[sources]]
name = "demo"
type = "demo"
per_run = 40
[[screens]]
name = "hall"
""",
        encoding="utf-8",
    )
    return path


def livewall(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wall.cli", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=config.parent,
    )


def test_collect_once_prints_per_source_results(config: Path) -> None:
    done = livewall(config, "collect", "--once")
    assert done.returncode == 0, done.stderr
    assert "collecting demo…" in done.stdout
    assert "demo: 40 new, 0 updated, 0 deleted" in done.stdout
    again = livewall(config, "collect", "--once", "--source", "demo")
    assert "demo: 40 new" in again.stdout


def test_unknown_source_is_a_usage_error(config: Path) -> None:
    done = livewall(config, "collect", "--once", "--source", "nope")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--source: unknown source 'nope' (known: demo)" in done.stderr


def test_export_jsonl_and_csv_hold_every_post_whatever_its_status(
    config: Path, tmp_path: Path
) -> None:
    livewall(config, "collect", "--once")
    lines = livewall(config, "export", "--format", "jsonl").stdout.splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 40
    assert {"approved", "pending"} <= {r["status"] for r in rows}  # the demo holds a few back
    assert set(REQUIRED_POST_FIELDS) <= set(rows[0])
    out = tmp_path / "posts.csv"
    done = livewall(config, "export", "--format", "csv", "--output", str(out))
    assert done.returncode == 0 and "exported 40 posts" in done.stderr
    table = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["external_id"] for r in table] == [r["external_id"] for r in rows]


def test_sources_shows_health(config: Path) -> None:
    assert "never run" in livewall(config, "sources").stdout
    livewall(config, "collect", "--once")
    table = livewall(config, "sources").stdout.splitlines()
    assert table[0].split()[:3] == ["SOURCE", "TYPE", "STATE"]
    assert table[1].split()[:4] == ["demo", "demo", "ok", table[1].split()[3]]


def test_migrate_is_idempotent(config: Path) -> None:
    first = livewall(config, "migrate")
    assert first.returncode == 0
    assert livewall(config, "migrate").stdout.strip() == "the store is up to date"


@pytest.mark.parametrize(
    "command", ["run", "serve", "worker", "collect", "sources", "export", "migrate", "check-config"]
)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    from wall.cli import main

    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0 and "usage: livewall" in capsys.readouterr().out


def test_unwritable_output_is_a_clear_error(config: Path, tmp_path: Path) -> None:
    target = tmp_path / "missing-folder" / "posts.jsonl"
    done = livewall(config, "export", "--output", str(target))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"livewall: error: {target}: No such file or directory" in done.stderr
