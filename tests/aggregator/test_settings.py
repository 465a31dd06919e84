from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from aggregator.settings import ConfigError, load_settings

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "event.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    return str(caught.value)


def test_default_config_is_valid() -> None:
    settings = load_settings(REPO / "config" / "default.toml")
    assert settings.sources[0].type == "demo"
    assert [s.name for s in settings.screens] == ["hall", "scene"]
    assert settings.storage.url == "sqlite:///./livewall.db"
    assert settings.event.timezone == "America/Toronto"


def test_minimal_file_gets_documented_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, '[event]\nname = "X"\n'))
    assert settings.event.languages == ("fr", "en")
    assert settings.moderation.mode == "pre"
    assert settings.server.port == 8000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[event\nname=1", "event.toml: not valid TOML"),
        (
            '[event]\ntimezone = "Mars/Olympus"',
            "event.toml: event.timezone: unknown time zone 'Mars/Olympus'",
        ),
        ('[event]\nlanguages = ["de"]', "event.languages: supported languages are 'fr' and 'en'"),
        ('[server]\nport = "huit mille"', "server.port: Input should be a valid integer"),
        ("[server]\nport = 70000", "server.port: Input should be less than or equal to 65535"),
        ('[moderation]\nmode = "maybe"', "moderation.mode: Input should be 'pre' or 'post'"),
        ('[moderation]\nmdoe = "pre"', "moderation.mdoe: unknown key"),
        (
            '[storage]\nurl = "mysql://x"',
            "storage.url: must start with sqlite:/// or postgresql+psycopg://",
        ),
        ('[[sources]]\nname = "a"\ntype = "myspace"', "sources[0].type: must be one of"),
        (
            '[[sources]]\nname = "a"\ntype = "demo"\nevery = 0',
            "sources[0].every: Input should be greater than or equal to 1",
        ),
        ('[[sources]]\ntype = "demo"', "sources[0].name: Field required"),
        (
            '[[sources]]\nname = "a"\ntype = "demo"\n[[sources]]\nname = "a"\ntype = "demo"',
            "sources[1].name: 'a' is used twice",
        ),
        (
            '[[screens]]\nname = "a"\n[[screens]]\nname = "a"',
            "event.toml: screens[1].name: 'a' is used twice",
        ),
        (
            '[[screens]]\nname = "a"\nlayout = "carousel"',
            "screens[0].layout: Input should be 'grid', 'spotlight' or 'ticker'",
        ),
        (
            '[moderation]\nblocked_words = { fr = "nope.txt" }',
            "moderation.blocked_words.fr: file 'nope.txt' not found",
        ),
        ('[digest]\nsend_at = "dix-huit heures"', "digest.send_at:"),
        (
            '[[screens]]\nname = "sw.js"',
            "screens[0].name: must be 1 to 63 lowercase letters, digits, '-' or '_'",
        ),
        (
            '[[sources]]\nname = "Mon flux"\ntype = "demo"',
            "sources[0].name: must be 1 to 63 lowercase letters",
        ),
        (
            '[event]\nlanguages = ["fr"]\n[digest]\nrecipients_en = ["a@example.org"]',
            'digest.recipients_en: is set but [event] languages has no "en"',
        ),
    ],
)
def test_each_kind_of_error_names_file_key_and_problem(
    tmp_path: Path, text: str, expected: str
) -> None:
    message = error_of(tmp_path, text)
    assert message.startswith(str(tmp_path / "event.toml"))
    assert expected in message


def test_missing_file(tmp_path: Path) -> None:
    assert error_of_path(tmp_path / "absent.toml").endswith("absent.toml: file not found")


def error_of_path(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return str(caught.value)


def test_command_exits_2_without_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\nport = "x"\n')
    done = subprocess.run(
        [sys.executable, "-m", "wall.cli", "--config", str(path), "check-config"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"livewall: error: {path}: server.port: Input should be a valid integer" in done.stderr


def test_check_config_summarizes(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wall.cli",
            "--config",
            str(REPO / "config" / "default.toml"),
            "check-config",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "#AssisesUMQ" in done.stdout
    assert "demo (demo, every 8 s)" in done.stdout
    assert "hall: grid → /wall/hall" in done.stdout
    assert "configuration is valid" in done.stdout


def test_event_start_is_a_day_or_a_moment_in_the_event_time_zone(tmp_path: Path) -> None:
    def start(value: str) -> str:
        settings = load_settings(write(tmp_path, f"[event]\nstart = {value}\n"))
        assert settings.event.start_utc is not None
        return settings.event.start_utc.isoformat()

    assert start("2026-11-25T08:00:00") == "2026-11-25T13:00:00+00:00"
    assert start("2026-11-25") == "2026-11-25T05:00:00+00:00"
    assert start("2026-11-25T08:00:00+01:00") == "2026-11-25T07:00:00+00:00"
    assert load_settings(write(tmp_path, "[event]\n")).event.start_utc is None
    assert error_of(tmp_path, "[event]\nstart = 8\n") == (
        f"{tmp_path / 'event.toml'}: event.start: must be a date or a date and time, "
        "such as 2026-11-25T08:00 (got 8)"
    )
