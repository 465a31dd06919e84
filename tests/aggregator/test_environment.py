"""What a configuration needs from the environment: errors for what cannot run, else warnings."""

from __future__ import annotations

from pathlib import Path

from aggregator.config_problems import ConfigProblem
from aggregator.environment import check_with_environment

REPO = Path(__file__).resolve().parents[2]
EVENT = REPO / "config" / "assises-umq.toml"
SECRET_KEY = {"LIVEWALL_SECRET_KEY": "k" * 40}


def summary(problems: tuple[ConfigProblem, ...]) -> list[tuple[str, str, str]]:
    return [(p.severity, p.file, p.key) for p in problems]


def check(tmp_path: Path, text: str, env: dict[str, str]) -> tuple[ConfigProblem, ...]:
    path = tmp_path / "event.toml"
    path.write_text(text, encoding="utf-8")
    return check_with_environment(path, env).problems


def test_the_real_event_file_with_an_empty_environment() -> None:
    checked = check_with_environment(EVENT, {})
    file = str(EVENT)
    assert summary(checked.problems) == [
        ("error", file, "sources[2].app_password_env"),
        ("error", file, "sources[5].secret_env"),
        ("warning", file, "sources[3].api_key_env"),
        ("warning", "environment", "LIVEWALL_SECRET_KEY"),
        ("warning", "environment", "LIVEWALL_SMTP_USER"),
    ]
    lines = [str(p) for p in checked.problems]
    assert lines[0] == (
        f"{file}: sources[2].app_password_env: not set in the environment: source 'bluesky' "
        "cannot run without it (got 'LIVEWALL_BLUESKY_PASSWORD')"
    )
    assert "source 'relais' cannot run without it (got 'LIVEWALL_WEBHOOK_SECRET')" in lines[1]
    assert (
        "streams show as upcoming, never as live now (got 'LIVEWALL_YOUTUBE_API_KEY')" in (lines[2])
    )
    assert "every restart logs every moderator out" in lines[3]
    assert "sent to smtp.example.org without logging in" in lines[4]


def test_the_real_event_file_with_its_secrets_set() -> None:
    env = {
        "LIVEWALL_BLUESKY_PASSWORD": "abcd-efgh-ijkl-mnop",
        "LIVEWALL_WEBHOOK_SECRET": "s" * 64,
        "LIVEWALL_YOUTUBE_API_KEY": "AIza-key",
        "LIVEWALL_SMTP_USER": "assises",
        "LIVEWALL_SMTP_PASSWORD": "mot de passe",
        **SECRET_KEY,
    }
    checked = check_with_environment(EVENT, env)
    assert checked.problems == () and checked.settings is not None


def test_an_empty_variable_counts_as_unset(tmp_path: Path) -> None:
    problems = check(
        tmp_path,
        '[[sources]]\nname = "relais"\ntype = "webhook"\nsecret_env = "HOOK_SECRET"\n',
        {"HOOK_SECRET": "", "LIVEWALL_SECRET_KEY": ""},
    )
    assert summary(problems) == [
        ("error", str(tmp_path / "event.toml"), "sources[0].secret_env"),
        ("warning", "environment", "LIVEWALL_SECRET_KEY"),
    ]


def test_a_mastodon_token_is_required_only_for_streaming(tmp_path: Path) -> None:
    problems = check(
        tmp_path,
        """
[[sources]]
name = "polling"
type = "mastodon"
instance = "https://m.example"
token_env = "POLL_TOKEN"
[[sources]]
name = "streaming"
type = "mastodon"
instance = "https://m.example"
token_env = "STREAM_TOKEN"
streaming = true
""",
        SECRET_KEY,
    )
    assert [(p.severity, p.key, p.got) for p in problems] == [
        ("error", "sources[1].token_env", "'STREAM_TOKEN'"),
        ("warning", "sources[0].token_env", "'POLL_TOKEN'"),
    ]
    assert "servers that require a token for hashtag timelines refuse it" in str(problems[1])


def test_a_disabled_source_only_warns(tmp_path: Path) -> None:
    problems = check(
        tmp_path,
        '[[sources]]\nname = "b"\ntype = "bluesky"\nhandle = "umq.bsky.social"\n'
        'app_password_env = "BSKY_PASSWORD"\nenabled = false\n',
        SECRET_KEY,
    )
    assert [(p.severity, p.key) for p in problems] == [("warning", "sources[0].app_password_env")]
    assert "source 'b' is disabled; it cannot run without it" in str(problems[0])


def test_an_smtp_user_without_its_password_is_an_error(tmp_path: Path) -> None:
    text = '[digest]\nsmtp_url = "smtp://smtp.example.org:587"\nrecipients = ["m@example.org"]\n'
    problems = check(tmp_path, text, {**SECRET_KEY, "LIVEWALL_SMTP_USER": "assises"})
    assert [(p.severity, p.key) for p in problems] == [("error", "LIVEWALL_SMTP_PASSWORD")]
    assert "the login to smtp.example.org fails and no digest is sent" in str(problems[0])
    logged_in = {**SECRET_KEY, "LIVEWALL_SMTP_USER": "assises", "LIVEWALL_SMTP_PASSWORD": "x"}
    assert check(tmp_path, text, logged_in) == ()


def test_no_login_is_asked_for_a_digest_nobody_gets(tmp_path: Path) -> None:
    assert check(tmp_path, '[digest]\nsmtp_url = "smtp://smtp.example.org"\n', SECRET_KEY) == ()


def test_file_errors_and_environment_problems_come_together(tmp_path: Path) -> None:
    problems = check(
        tmp_path,
        '[server]\nport = true\n[[sources]]\nname = "relais"\ntype = "webhook"\n'
        'secret_env = "HOOK_SECRET"\n',
        {},
    )
    assert [(p.severity, p.key) for p in problems] == [
        ("error", "server.port"),
        ("error", "sources[0].secret_env"),
        ("warning", "LIVEWALL_SECRET_KEY"),
    ]
