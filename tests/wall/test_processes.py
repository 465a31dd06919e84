"""`livewall serve --workers N` and several `livewall serve` side by side: real processes on one
store, sharing what must be shared (sessions, login throttling, undo, the change feed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def event_file(directory: Path, database_url: str) -> Path:
    path = directory / "event.toml"
    path.write_text(
        f"""
[event]
name = "Assises à plusieurs processus"
hashtags = ["AssisesUMQ"]
[storage]
url = "{database_url}"
[moderation]
mode = "pre"
[[sources]]
name = "relais"
type = "webhook"
secret_env = "RELAIS_SECRET"
[[screens]]
name = "hall"
""",
        encoding="utf-8",
    )
    return path


def bare_env(**variables: str) -> dict[str, str]:
    """Only PATH and what the test gives: the machine's own secrets never leak in."""
    return {"PATH": os.environ["PATH"], **variables}


def test_several_processes_without_the_secret_key_is_one_line_and_a_failure(
    tmp_path: Path,
) -> None:
    config = event_file(tmp_path, f"sqlite:///{tmp_path / 'livewall.db'}")
    done = subprocess.run(
        [sys.executable, "-m", "wall.cli", "--config", str(config), "serve", "--workers", "3"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=bare_env(RELAIS_SECRET="s" * 32, PYTHONPATH=str(REPO)),
    )
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("livewall: error")]
    assert errors == [
        "livewall: error: --workers 3 needs LIVEWALL_SECRET_KEY set (the same secret for every "
        "process); set it or serve with one process"
    ]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "livewall.db").exists()  # refused before touching the store
