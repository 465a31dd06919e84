"""The lock files hold every dependency pyproject.toml declares, pinned and hashed, so a new
dependency added without `make lock` fails here rather than on a fresh machine."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^ \\]+)", re.MULTILINE)
HASHED_PIN = re.compile(
    r"^[A-Za-z0-9._-]+==[^ \\]+ \\\n\s+--hash=sha256:[0-9a-f]{64}", re.MULTILINE
)
RUN_MAKE_LOCK = "run `make lock` and commit requirements.txt and requirements-dev.txt"


def declared(*extras: str) -> list[Requirement]:
    """The project's runtime dependencies and those of `extras`, without itself."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    return [r for r in map(Requirement, lines) if canonicalize_name(r.name) != "livewall"]


def pins(lock: str) -> dict[str, Version]:
    text = (ROOT / lock).read_text(encoding="utf-8")
    return {canonicalize_name(name): Version(version) for name, version in PIN.findall(text)}


def extra_packages(requirement: Requirement) -> set[str]:
    """What `package[extra]` adds, from the installed package's metadata."""
    added: set[str] = set()
    if not requirement.extras:
        return added
    for line in metadata.requires(requirement.name) or []:
        needed = Requirement(line)
        wanted = any(
            needed.marker and needed.marker.evaluate({"extra": e}) for e in requirement.extras
        )
        if wanted:
            added.add(canonicalize_name(needed.name))
    return added


def missing_from(lock: str, requirements: list[Requirement]) -> list[str]:
    pinned = pins(lock)
    problems = []
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        if name not in pinned:
            problems.append(f"{lock}: {requirement} is not in the lock")
            continue
        if not requirement.specifier.contains(pinned[name], prereleases=True):
            problems.append(f"{lock}: {requirement} but the lock pins {name}=={pinned[name]}")
        problems += [
            f"{lock}: {extra} (from {requirement}) is not in the lock"
            for extra in sorted(extra_packages(requirement) - set(pinned))
        ]
    return problems


@pytest.mark.parametrize(
    ("lock", "extras"), [("requirements.txt", ()), ("requirements-dev.txt", ("test", "dev"))]
)
def test_lock_pins_every_declared_dependency(lock: str, extras: tuple[str, ...]) -> None:
    problems = missing_from(lock, declared(*extras))
    assert problems == [], f"{RUN_MAKE_LOCK}:\n" + "\n".join(problems)


@pytest.mark.parametrize("lock", ["requirements.txt", "requirements-dev.txt"])
def test_every_pin_carries_a_hash(lock: str) -> None:
    text = (ROOT / lock).read_text(encoding="utf-8")
    assert len(HASHED_PIN.findall(text)) == len(PIN.findall(text)) > 10, RUN_MAKE_LOCK


def test_runtime_lock_holds_no_test_tool() -> None:
    """The server installs requirements.txt alone: no test or lint tool belongs there."""
    tools = {canonicalize_name(r.name) for r in declared("test", "dev")} - {
        canonicalize_name(r.name) for r in declared()
    }
    assert tools & set(pins("requirements.txt")) == set()


def test_a_dependency_missing_from_the_lock_is_named() -> None:
    assert missing_from("requirements.txt", [Requirement("left-pad-for-python>=1")]) == [
        "requirements.txt: left-pad-for-python>=1 is not in the lock"
    ]
    assert missing_from("requirements.txt", [Requirement("starlette<0.1")]) == [
        f"requirements.txt: starlette<0.1 but the lock pins starlette=={pins('requirements.txt')['starlette']}"
    ]
