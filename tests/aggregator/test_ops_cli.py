"""`livewall backup` and `livewall prune` as an operator runs them: a real process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.aggregator.test_cli import config, livewall  # noqa: F401  (the fixture)


@pytest.mark.slow
def test_backup_then_prune_from_the_command_line(config: Path, tmp_path: Path) -> None:  # noqa: F811
    assert livewall(config, "collect", "--once").returncode == 0
    copy = tmp_path / "copie.db"
    done = livewall(config, "backup", str(copy))
    if "postgresql" in config.read_text():
        assert done.returncode == 0 and copy.stat().st_size > 0, done.stderr
    else:
        assert done.returncode == 0, done.stderr
        assert f"store copied to {copy}" in done.stdout and "40 posts" in done.stdout
    assert "media: copy the folder" in done.stdout and "key:" in done.stdout
    again = livewall(config, "backup", str(copy))
    assert again.returncode == 2 and again.stderr.strip() == (
        f"livewall: error: {copy}: already exists (give a new file name)"
    )

    dry = livewall(config, "prune", "--older-than", "3650", "--dry-run")
    assert dry.returncode == 0 and dry.stdout.startswith("would remove:")
    assert "0 post(s) deleted" in dry.stdout and "kept: the moderation log" in dry.stdout
    wrong = livewall(config, "prune", "--older-than", "0")
    assert (
        wrong.returncode == 2 and "--older-than: must be a number of days above 0" in wrong.stderr
    )
