"""What is wrong with a configuration, gathered so a person sees every problem in one run."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from aggregator.config_values import hide_password

Severity = Literal["error", "warning"]
ENVIRONMENT = "environment"  # the "file" of a problem with an environment variable
UNSHOWN: Final = object()  # no value worth printing (a missing key, a possible secret)
LONGEST_VALUE = 120


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong, worded for the person who edits the file: where, what, and the value."""

    file: str
    key: str
    problem: str
    got: str | None = None  # the value as written, fit to print
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where}: {self.problem}" + (f" (got {self.got})" if self.got is not None else "")


class ConfigError(Exception):
    """The configuration's errors, all of them: three errors are one run, not three."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = tuple(problems)


def shown(value: object) -> str | None:
    """A value as printed after "got": passwords in URLs hidden, long ones cut."""
    if value is UNSHOWN:
        return None
    if isinstance(value, str) and "://" in value:
        value = hide_password(value)
    text = repr(value)
    return text if len(text) <= LONGEST_VALUE else text[: LONGEST_VALUE - 1] + "…"


@dataclass
class Problems:
    """The problems found in one file so far."""

    file: str
    found: list[ConfigProblem] = field(default_factory=list)

    def error(self, key: str, problem: str, value: object = UNSHOWN) -> None:
        self.found.append(ConfigProblem(self.file, key, problem, shown(value)))

    def warning(self, key: str, problem: str, value: object = UNSHOWN) -> None:
        self.found.append(ConfigProblem(self.file, key, problem, shown(value), "warning"))

    def validation(self, exc: ValidationError, prefix: str = "") -> None:
        """Every error pydantic found, each under its own key."""
        for error in exc.errors():
            key = _key(error["loc"], prefix)
            self.error(key, _message(error), _value(error, key))

    @property
    def errors(self) -> list[ConfigProblem]:
        return [p for p in self.found if p.severity == "error"]

    def in_order(self) -> tuple[ConfigProblem, ...]:
        return in_order(self.found)


def in_order(problems: Iterable[ConfigProblem]) -> tuple[ConfigProblem, ...]:
    """Errors first, then warnings, each kind in the order it was found."""
    return tuple(sorted(problems, key=lambda p: p.severity != "error"))


def _key(loc: tuple[int | str, ...], prefix: str) -> str:
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    return (prefix + path).lstrip(".")


def _message(error: ErrorDetails) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key (check its spelling in docs/configuration.md)"
    return error["msg"].removeprefix("Value error, ")


def _value(error: ErrorDetails, key: str) -> Any:
    if error["type"] in ("missing", "extra_forbidden"):
        return UNSHOWN
    # A `*_env` key holding something that is not a variable's name may hold the secret itself.
    if key.endswith("_env"):
        return UNSHOWN
    return error.get("input", UNSHOWN)
