"""What the configuration needs from the environment: the secrets it names, and the server's.

Secrets never go in the file, so a file can be right while the machine it runs on lacks
them. An unset variable is an error when a source cannot run at all without it, and a
warning when the program runs with less (no login, no live check, sessions lost at restart).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from aggregator.config_problems import ENVIRONMENT, ConfigProblem, Problems, in_order
from aggregator.digest.send import PASSWORD_ENV, USER_ENV
from aggregator.settings import SESSION_KEY_ENV, CheckedConfig, DigestSettings, Settings, check_file

NOT_SET = "not set in the environment"


def check_with_environment(path: Path | str, env: Mapping[str, str]) -> CheckedConfig:
    """The file's problems and the environment's, as far as the file could be read."""
    checked = check_file(path)
    if checked.draft is None:
        return checked
    found = environment_problems(checked.draft, env, str(path))
    return CheckedConfig(checked.draft, in_order([*checked.problems, *found]))


def environment_problems(
    settings: Settings, env: Mapping[str, str], file: str
) -> list[ConfigProblem]:
    """The variables `settings` needs that `env` lacks, errors first."""
    problems = Problems(file)
    _check_source_secrets(problems, settings, env)
    server = Problems(ENVIRONMENT)
    _check_session_key(server, env)
    _check_smtp_login(server, settings.digest, env)
    return [*problems.in_order(), *server.in_order()]


def _check_source_secrets(problems: Problems, settings: Settings, env: Mapping[str, str]) -> None:
    for index, source in enumerate(settings.sources):
        for secret in source.secrets():
            if env.get(secret.variable):
                continue
            key = f"sources[{index}].{secret.key}"
            name = f"source {source.name!r}"
            if not secret.required:
                cost = f", but {secret.without}" if secret.without else ""
                problems.warning(key, f"{NOT_SET}: {name} runs without it{cost}", secret.variable)
            elif source.enabled:
                problems.error(key, f"{NOT_SET}: {name} cannot run without it", secret.variable)
            else:
                problems.warning(
                    key, f"{NOT_SET}: {name} is disabled; it cannot run without it", secret.variable
                )


def _check_session_key(problems: Problems, env: Mapping[str, str]) -> None:
    if not env.get(SESSION_KEY_ENV):
        problems.warning(
            SESSION_KEY_ENV,
            "not set: console sessions are signed with a key made at each start, so every "
            "restart logs every moderator out (set a long random value, kept secret)",
        )


def _check_smtp_login(problems: Problems, digest: DigestSettings, env: Mapping[str, str]) -> None:
    if not digest.smtp_url or not (digest.recipients or digest.recipients_en):
        return
    server = urlsplit(digest.smtp_url).hostname
    if not env.get(USER_ENV):
        problems.warning(USER_ENV, f"not set: the digest is sent to {server} without logging in")
    elif not env.get(PASSWORD_ENV):
        problems.error(
            PASSWORD_ENV,
            f"not set while {USER_ENV} is: the login to {server} fails and no digest is sent",
        )
