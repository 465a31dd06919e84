"""The `livewall` command as a person runs it: a real process, a real store, readable lines."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlmodel import select

from aggregator.models import Post
from aggregator.store import Store
from tests.builders import REQUIRED_POST_FIELDS
from tests.collectors.collector_fakes import FakeServer, Reply

REPO = Path(__file__).resolve().parents[2]
LIVEWALL = Path(sys.executable).parent / "livewall"
SECRET_KEY = {"LIVEWALL_SECRET_KEY": "k" * 40}


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


# Every command each package registers, in the order `livewall --help` lists them.
COMMANDS = {
    "run": "all-in-one: migrate, collect and serve the web",
    "serve": "serve the web only (run a worker beside it)",
    "worker": "run the scheduler and collectors (no web server)",
    "collect": "run collectors and print what each one did",
    "sources": "show each source's health",
    "export": "write every post, whatever its status",
    "migrate": "apply the store's pending migrations",
    "check-config": "validate the configuration and its environment; list every problem",
    "settings-doc": "print the configuration reference (Markdown)",
    "backup": "copy the store consistently while it runs; say what else to copy",
    "prune": "remove old posts, tombstones past their use and cached media",
    "digest": "build the daily digest; publish and email it",
    "user": "manage staff accounts (console logins)",
}
USER_ACTIONS = {
    "add": "create an account",
    "list": "list the accounts",
    "disable": "disable an account (its sessions end)",
    "enable": "enable a disabled account",
    "password": "set a new password",
}


def help_of(capsys: pytest.CaptureFixture[str], *command: str) -> str:
    from wall.cli import main

    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse wraps long help lines


def test_the_program_has_every_package_command(capsys: pytest.CaptureFixture[str]) -> None:
    from wall.cli import build_commands

    assert list(build_commands().helps.items()) == list(COMMANDS.items())
    for command, entries in ((), COMMANDS), (("user",), USER_ACTIONS):
        listing = help_of(capsys, *command)
        places = [listing.index(f" {name} {text}") for name, text in entries.items()]
        assert places == sorted(places), listing


@pytest.mark.parametrize("command", [*COMMANDS, *(f"user {action}" for action in USER_ACTIONS)])
def test_each_command_and_action_has_its_help(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = help_of(capsys, *command.split())
    assert listing.startswith(f"usage: livewall {command} [-h] [--config CONFIG]")


def test_unwritable_output_is_a_clear_error(config: Path, tmp_path: Path) -> None:
    target = tmp_path / "missing-folder" / "posts.jsonl"
    done = livewall(config, "export", "--output", str(target))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"livewall: error: {target}: No such file or directory" in done.stderr


# check-config and the configuration errors of every command ----------------------------------


def clean_env(**variables: str) -> dict[str, str]:
    """Only PATH and what the test gives: the secrets of the machine running the tests never
    leak into what is checked."""
    return {"PATH": os.environ["PATH"], **variables}


def check_config(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The installed command, as an operator types it."""
    return subprocess.run(
        [str(LIVEWALL), "check-config", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=config.parent,
        env=env,
    )


BROKEN = """
[server]
port = true
[[sources]]
name = "relais"
type = "webhook"
secret_env = "RELAIS_SECRET"
[[screens]]
name = "hall"
qr_url = "javascript:alert(1)"
embed_origins = ["https://www.umq.qc.ca/mur"]
[digest]
recipients = ["membres"]
smtp_url = "smtp.example.org"
"""


def test_check_config_lists_every_problem_in_one_run(tmp_path: Path) -> None:
    config = tmp_path / "event.toml"
    config.write_text(BROKEN, encoding="utf-8")
    done = check_config(config, clean_env())
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"livewall: error: {config}: server.port: Input should be a valid integer (got True)",
        f"livewall: error: {config}: screens[0].embed_origins[0]: is not an origin: "
        "https://host or https://host:port, with no path (got 'https://www.umq.qc.ca/mur')",
        f"livewall: error: {config}: screens[0].qr_url: must be an http:// or https:// URL "
        "(got 'javascript:alert(1)')",
        f"livewall: error: {config}: digest.recipients[0]: is not an email address "
        "(name@domain, without a display name) (got 'membres')",
        f"livewall: error: {config}: digest.smtp_url: must be smtp://host:port or "
        "smtps://host:port (got 'smtp.example.org')",
        f"livewall: error: {config}: sources[0].secret_env: not set in the environment: "
        "source 'relais' cannot run without it (got 'RELAIS_SECRET')",
        "livewall: warning: environment: LIVEWALL_SECRET_KEY: not set: console sessions are "
        "signed with a key made at each start, so every restart logs every moderator out "
        "(set a long random value, kept secret)",
        "configuration is not valid: 6 errors, 1 warning",
    ]


def test_check_config_creates_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "event"
    folder.mkdir()
    config = folder / "event.toml"
    config.write_text(
        '[storage]\nurl = "sqlite:///./data/x.db"\n[[sources]]\nname = "demo"\ntype = "demo"\n',
        encoding="utf-8",
    )
    before = sorted(folder.rglob("*"))
    done = check_config(config, clean_env(**SECRET_KEY))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "configuration is valid"
    assert sorted(folder.rglob("*")) == before == [config]


def test_check_config_on_the_real_event_file_without_its_secrets(tmp_path: Path) -> None:
    event = REPO / "config" / "assises-umq.toml"
    done = check_config(event, clean_env())
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert [line.split(": ")[1:3] for line in lines[:-1]] == [
        ["error", f"{event}"],
        ["error", f"{event}"],
        ["warning", f"{event}"],
        ["warning", "environment"],
        ["warning", "environment"],
    ]
    assert "sources[2].app_password_env: not set in the environment" in lines[0]
    assert "sources[5].secret_env: not set in the environment" in lines[1]
    assert "sources[3].api_key_env: not set in the environment" in lines[2]
    assert "LIVEWALL_SECRET_KEY: not set" in lines[3]
    assert "LIVEWALL_SMTP_USER: not set" in lines[4]
    assert lines[-1] == "configuration is not valid: 2 errors, 3 warnings"
    assert not (REPO / "config" / "data").exists() and not (tmp_path / "data").exists()


def test_check_config_summarizes_a_valid_file_and_its_warnings(tmp_path: Path) -> None:
    env = clean_env(LIVEWALL_BLUESKY_PASSWORD="x", LIVEWALL_WEBHOOK_SECRET="y")
    done = check_config(REPO / "config" / "assises-umq.toml", env)
    assert done.returncode == 0, done.stderr
    assert "#AssisesUMQ #MunicipalDabord" in done.stdout
    assert "umq-youtube (youtube, every 300 s, official)" in done.stdout
    assert "hall-principal: grid → /wall/hall-principal" in done.stdout
    assert done.stdout.splitlines()[-1] == "configuration is valid, with 3 warnings"
    assert [line.split(": ")[1] for line in done.stderr.splitlines()] == ["warning"] * 3


def test_check_config_hides_a_database_password(tmp_path: Path) -> None:
    config = tmp_path / "event.toml"
    config.write_text('[storage]\nurl = "postgresql://wall:s3cret@db/wall"\n', encoding="utf-8")
    done = check_config(config, clean_env(**SECRET_KEY))
    assert done.returncode == 0, done.stderr
    assert "store: postgresql+psycopg://wall:***@db/wall" in done.stdout
    assert "s3cret" not in done.stdout + done.stderr


def test_every_command_refuses_a_broken_file_with_all_its_errors(tmp_path: Path) -> None:
    config = tmp_path / "event.toml"
    config.write_text(BROKEN, encoding="utf-8")
    done = livewall(config, "worker")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    errors = done.stderr.splitlines()
    assert len(errors) == 5 and all(line.startswith("livewall: error: ") for line in errors)
    assert sorted(tmp_path.iterdir()) == [config]  # no store was made for a broken file


def test_a_running_command_says_at_start_what_its_environment_lacks(tmp_path: Path) -> None:
    config = tmp_path / "event.toml"
    config.write_text(
        f"""
[storage]
url = "sqlite:///{tmp_path}/wall.db"
[[sources]]
name = "demo"
type = "demo"
[[sources]]
name = "relais"
type = "webhook"
secret_env = "RELAIS_SECRET"
""",
        encoding="utf-8",
    )
    worker = subprocess.Popen(
        [str(LIVEWALL), "--config", str(config), "worker"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=clean_env(),
    )
    try:
        assert worker.stdout is not None
        started = worker.stdout.readline() + worker.stdout.readline()
        assert "worker: collecting 2 source(s)" in started
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=30)
    # Only the start is this test's business (a stop in the middle of a tick is another's).
    assert err.splitlines()[:2] == [
        f"livewall: warning: {config}: sources[1].secret_env: not set in the environment: "
        "source 'relais' cannot run without it (got 'RELAIS_SECRET')",
        "livewall: warning: environment: LIVEWALL_SECRET_KEY: not set: console sessions are "
        "signed with a key made at each start, so every restart logs every moderator out "
        "(set a long random value, kept secret)",
    ]


def test_a_worker_stopped_in_the_middle_of_a_collection_lets_it_finish(tmp_path: Path) -> None:
    """SIGTERM while a feed is still answering: the run stores what it got, no traceback."""
    feed = FakeServer()
    published = format_datetime(datetime.now(UTC))  # inside the first run's look-back window
    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>UMQ</title>'
        "<item><title>Ouverture</title><guid>u-1</guid><link>https://umq.qc.ca/1</link>"
        f"<pubDate>{published}</pubDate></item></channel></rss>"
    )
    slow = Reply(200, rss, {"Content-Type": "application/rss+xml"}, delay=2.0)
    feed.route("GET", "/feed.rss", slow)
    feed.start()
    config = tmp_path / "event.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path}/wall.db"\n[[sources]]\nname = "umq"\n'
        f'type = "feed"\nurl = "{feed.url("/feed.rss")}"\n',
        encoding="utf-8",
    )
    worker = subprocess.Popen(
        [str(LIVEWALL), "--config", str(config), "worker"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(**SECRET_KEY),
    )
    try:
        deadline = time.monotonic() + 30
        while not feed.to("/feed.rss") and time.monotonic() < deadline:
            time.sleep(0.05)  # the collection has started: the feed is answering slowly
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    finally:
        feed.stop()
    assert worker.returncode == 0 and "Traceback" not in err, err
    assert "collections in progress finish" in out and out.rstrip().endswith("worker stopped.")
    store = Store(f"sqlite:///{tmp_path}/wall.db")
    with store.read() as session:
        [stored] = session.exec(select(Post.external_id)).all()
    assert stored.endswith("/u-1")
    store.dispose()
