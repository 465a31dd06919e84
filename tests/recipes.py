"""What the deployment recipes (Dockerfile, compose.yaml, systemd units) are checked against:
the `livewall` program's own parser, so a recipe naming a command or an option that does not
exist fails a test instead of a server."""

from __future__ import annotations

import contextlib
import io
import shlex
from collections.abc import Sequence
from pathlib import Path

from wall.cli import build_commands

REPO = Path(__file__).resolve().parent.parent


def command_problem(argv: Sequence[str]) -> str | None:
    """Why `livewall argv` would not start, as the program would say it; None when it parses."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            build_commands().parser.parse_args(list(argv))
    except SystemExit as exc:
        if exc.code == 0:  # --help
            return None
        return f"livewall {shlex.join(argv)}: {stderr.getvalue().strip().splitlines()[-1]}"
    return None


def livewall_arguments(command_line: Sequence[str]) -> list[str]:
    """The arguments given to the `livewall` program in a command line (any path to it)."""
    program, *arguments = command_line
    assert Path(program).name == "livewall", f"{shlex.join(command_line)} does not run livewall"
    return arguments
