"""The container recipe checked against the project: no image can be pulled here, so the test
reads the Dockerfile, .dockerignore and compose.yaml and holds each path, command, route,
service and volume they name to what the repository and the program really have."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import tomllib
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from aggregator.settings import check_file
from tests.recipes import REPO, command_problem, livewall_arguments

COMPOSE_VARIABLE = re.compile(r"\$\{([A-Z_]+)")
ENV_EXAMPLE = REPO / "deploy" / "env.example"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's (INSTRUCTION, arguments), continuation lines joined."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def last_stage() -> list[tuple[str, str]]:
    steps = instructions()
    start = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[start:]


def one(word: str) -> str:
    values = [rest for w, rest in last_stage() if w == word]
    assert len(values) == 1, f"the image's last stage should have one {word}, has {values}"
    return values[0]


def exec_form(rest: str) -> list[str]:
    assert rest.startswith("["), f"use the exec form (a JSON list), not {rest!r}"
    return list(json.loads(rest))


def image_command(command: list[str] | None = None) -> list[str]:
    """What a container of the image runs: ENTRYPOINT then CMD (or a compose `command`)."""
    return exec_form(one("ENTRYPOINT")) + (command or exec_form(one("CMD")))


def copies() -> list[tuple[list[str], str]]:
    """(sources, destination) of each COPY that takes files from the build context."""
    found = []
    for word, rest in instructions():
        parts = shlex.split(rest)
        if word == "COPY" and not any(p.startswith("--from") for p in parts):
            *sources, destination = [p for p in parts if not p.startswith("--")]
            found.append((sources, destination))
    return found


def ignored(path: str) -> bool:
    """Whether .dockerignore keeps `path` (or a folder holding it) out of the build context."""
    patterns = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    result = False
    for pattern in (p.strip() for p in patterns):
        if not pattern or pattern.startswith("#"):
            continue
        negated, pattern = pattern.startswith("!"), pattern.lstrip("!")
        candidates = [str(p) for p in [PurePosixPath(path), *PurePosixPath(path).parents]]
        if any(_matches(candidate, pattern) for candidate in candidates if candidate != "."):
            result = not negated
    return result


def _matches(path: str, pattern: str) -> bool:
    if pattern.startswith("**/"):
        return any(
            fnmatch.fnmatch(str(PurePosixPath(*PurePosixPath(path).parts[i:])), pattern[3:])
            for i in range(len(PurePosixPath(path).parts))
        )
    return fnmatch.fnmatch(path, pattern)


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8")))


def livewall_services() -> dict[str, dict[str, Any]]:
    """The compose services that run the image built from the Dockerfile."""
    return {name: s for name, s in compose()["services"].items() if s.get("build") == "."}


def container_config() -> PurePosixPath:
    """The event file the compose stack runs, as a repository path."""
    in_container = {s["environment"]["LIVEWALL_CONFIG"] for s in livewall_services().values()}
    assert len(in_container) == 1, f"serve and worker must read one event file: {in_container}"
    path = PurePosixPath(in_container.pop())
    for sources, destination in copies():
        for source in sources:
            if path.is_relative_to(destination):
                return PurePosixPath(source) / path.relative_to(destination)
    raise AssertionError(f"{path} is not copied into the image")


# The Dockerfile ---------------------------------------------------------------------------


def test_image_is_python_slim_and_runs_as_a_user_without_privileges() -> None:
    bases = [rest.split()[0] for word, rest in instructions() if word == "FROM"]
    assert bases and all(base == "python:3.11-slim" for base in bases)
    assert one("USER") not in ("root", "0")
    words = [word for word, _ in last_stage()]
    assert words.index("USER") > max(i for i, w in enumerate(words) if w == "RUN")


def test_every_copied_path_exists_and_reaches_the_build() -> None:
    assert copies(), "the Dockerfile copies nothing"
    for sources, _ in copies():
        for source in sources:
            assert (REPO / source).exists(), f"Dockerfile: COPY {source}: no such path"
            assert not ignored(source), f"Dockerfile: COPY {source}: .dockerignore leaves it out"


def test_context_leaves_out_secrets_and_local_state() -> None:
    for path in (".env", ".venv/bin/python", ".git/HEAD", "livewall.db", "data/x.db"):
        assert ignored(path), f".dockerignore should leave out {path}"


def test_image_installs_the_locked_versions_with_their_hashes() -> None:
    runs = [rest for word, rest in last_stage() if word == "RUN"]
    lock = next(d for s, d in copies() if s == ["requirements.txt"])
    assert any(f"--require-hashes -r {lock}" in run for run in runs), runs
    assert any("--no-deps" in run and "pip install" in run for run in runs), (
        "livewall itself must not resolve dependencies past the lock"
    )


def test_entry_point_is_the_programs_script_and_runs_a_real_command() -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert exec_form(one("ENTRYPOINT")) == ["livewall"]
    assert "livewall" in scripts["scripts"]
    arguments = livewall_arguments(image_command())
    assert arguments[0] == "serve"
    assert command_problem(arguments) is None


def test_a_wrong_option_is_caught() -> None:
    problem = command_problem(["serve", "--listen", "0.0.0.0"])
    assert problem is not None and "unrecognized arguments: --listen" in problem
    assert command_problem(["serv"]) is not None


def test_healthcheck_port_is_the_one_exposed() -> None:
    url = urlsplit(re.findall(r"https?://[^'\"]+", one("HEALTHCHECK"))[0])
    assert str(url.port) == one("EXPOSE")
    assert url.hostname == "127.0.0.1"


@pytest.mark.anyio
async def test_healthcheck_asks_a_route_the_web_answers(web: httpx.AsyncClient) -> None:
    path = urlsplit(re.findall(r"https?://[^'\"]+", one("HEALTHCHECK"))[0]).path
    response = await web.get(path)
    assert response.status_code == 200, f"HEALTHCHECK asks {path}: {response.status_code}"


# compose.yaml ----------------------------------------------------------------------------


def test_compose_runs_serve_worker_and_postgresql() -> None:
    services = compose()["services"]
    assert set(livewall_services()) == {"serve", "worker"}
    assert str(services["db"]["image"]).startswith("postgres:")
    for name, service in livewall_services().items():
        arguments = livewall_arguments(image_command(service.get("command")))
        assert arguments[0] == name
        assert command_problem(arguments) is None


def test_every_dependency_exists_and_has_a_healthcheck_to_wait_for() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for needed, condition in service.get("depends_on", {}).items():
            assert needed in services, f"{name} depends on {needed}, which is no service"
            if condition.get("condition") == "service_healthy":
                check = services[needed].get("healthcheck")
                from_image = services[needed].get("build") == "." and one("HEALTHCHECK")
                assert (check and not check.get("disable")) or (not check and from_image), (
                    f"{name} waits for {needed} to be healthy, which has no healthcheck"
                )


def test_worker_does_not_run_the_webs_healthcheck() -> None:
    assert compose()["services"]["worker"]["healthcheck"] == {"disable": True}


def test_volumes_are_declared_and_hold_the_images_data_folder() -> None:
    declared = set(compose()["volumes"])
    used = set()
    for name, service in compose()["services"].items():
        for mount in service.get("volumes", []):
            volume, target = mount.split(":")[:2]
            assert volume in declared, f"{name} mounts {volume}, which is not declared"
            used.add((volume, target))
    assert {volume for volume, _ in used} == declared
    data_folder = json.loads(one("VOLUME")) if one("VOLUME").startswith("[") else one("VOLUME")
    for service in livewall_services().values():
        assert f"data:{data_folder}" in service["volumes"]


def test_stack_event_file_loads_and_points_at_the_db_service() -> None:
    checked = check_file(REPO / container_config())
    assert checked.settings is not None and checked.errors == (), checked.problems
    url = urlsplit(checked.settings.storage.url)
    db = compose()["services"]["db"]["environment"]
    assert url.hostname == "db"
    assert url.username == db["POSTGRES_USER"]
    assert url.path.lstrip("/") == db["POSTGRES_DB"]
    assert url.password is None, "the password comes from the environment (PGPASSWORD)"
    published = compose()["services"]["serve"]["ports"][0].split(":")[-1]
    assert published == str(checked.settings.server.port) == one("EXPOSE")


def test_env_file_example_holds_every_variable_compose_needs() -> None:
    text = (REPO / "compose.yaml").read_text(encoding="utf-8")
    example = ENV_EXAMPLE.read_text(encoding="utf-8")
    for name in COMPOSE_VARIABLE.findall(text):
        assert re.search(rf"^#? ?{name}=", example, re.MULTILINE), f"{name} not in env.example"
    assert re.search(r"^LIVEWALL_SECRET_KEY=", example, re.MULTILINE)
    assert all(s["env_file"] == ".env" for s in livewall_services().values())


def test_env_file_example_names_only_variables_something_reads() -> None:
    """Each is in the reference, or is a name an event file's `*_env` key gives a secret."""
    reference = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    section = reference[reference.index("## Environment variables") :]
    events = "".join(p.read_text(encoding="utf-8") for p in (REPO / "config").glob("*.toml"))
    given = set(re.findall(r'_env = "(LIVEWALL_[A-Z0-9_]+)"', events))
    example = ENV_EXAMPLE.read_text(encoding="utf-8")
    named = set(re.findall(r"^#? ?(LIVEWALL_[A-Z0-9_]+)=", example, re.MULTILINE))
    assert {"LIVEWALL_SECRET_KEY", "LIVEWALL_BLUESKY_PASSWORD"} <= named
    assert [n for n in sorted(named) if f"`{n}`" not in section and n not in given] == []
