"""The `livewall` program's command table, and how a command line runs one of them.

Each package offers `register(commands)`, which adds its commands with `Commands.add` (or a
command with actions of its own with `Commands.group`); the program (wall/cli.py) registers
them all in a fixed order, then `Commands.run` parses the line and runs the command it names.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, TextIO, overload

from aggregator import logs
from aggregator.application import Livewall
from aggregator.config_problems import ConfigProblem
from aggregator.environment import environment_problems
from aggregator.settings import ConfigError, Settings, check_file, default_config_path
from aggregator.store import StoreError

# A command that works on the event's store gets the application built from its settings;
# one that needs no configuration (or reads the file itself) gets only its arguments.
Handler = Callable[[argparse.Namespace, Livewall], int]
StandaloneHandler = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """A wrong argument: the message says which and why; exit status 2."""


class Commands:
    """The commands one parser dispatches to, in the order they were added (the order of
    `--help`): the program's own, or the actions of one command (`livewall user add`)."""

    def __init__(self, parser: argparse.ArgumentParser, dest: str, metavar: str) -> None:
        self.parser = parser
        self.helps: dict[str, str] = {}  # name → help, what `--help` lists
        self._choices = parser.add_subparsers(dest=dest, metavar=metavar, required=True)

    @classmethod
    def program(cls, prog: str, description: str) -> Commands:
        parser = argparse.ArgumentParser(prog=prog, description=description)
        add_config_option(parser, default=None)
        parser.add_argument("-v", "--verbose", action="store_true", help="log more")
        return cls(parser, dest="command", metavar="COMMAND")

    @overload
    def add(
        self,
        name: str,
        help: str,
        handler: Handler,
        needs_config: Literal[True] = True,
        keeps_running: bool = False,
    ) -> argparse.ArgumentParser: ...

    @overload
    def add(
        self,
        name: str,
        help: str,
        handler: StandaloneHandler,
        needs_config: Literal[False],
        keeps_running: bool = False,
    ) -> argparse.ArgumentParser: ...

    def add(
        self,
        name: str,
        help: str,
        handler: Handler | StandaloneHandler,
        needs_config: bool = True,
        keeps_running: bool = False,
    ) -> argparse.ArgumentParser:
        """A command, whose parser is returned for its own arguments. A command that keeps
        running (a server, a worker) says at start what its environment lacks."""
        command = self._command(name, help)
        command.set_defaults(
            handler=handler, needs_config=needs_config, keeps_running=keeps_running
        )
        return command

    def group(self, name: str, help: str) -> Commands:
        """A command made of actions (`user add`, `user list`…): add them to what it returns."""
        return Commands(self._command(name, help), dest=f"{name}_command", metavar="ACTION")

    def _command(self, name: str, help: str) -> argparse.ArgumentParser:
        command = self._choices.add_parser(name, help=help, description=help)
        # Also after the command (`livewall check-config --config FILE`), where people type it.
        add_config_option(command, default=argparse.SUPPRESS)
        self.helps[name] = help
        return command

    def run(self, argv: Sequence[str] | None = None) -> int:
        """Parse a command line and run its command: the exit status, never a traceback
        (unless -v asks for one)."""
        args = self.parser.parse_args(argv)
        logs.configure(None, args.verbose)
        try:
            if not args.needs_config:
                return int(args.handler(args))
            settings = load_config(args.config or default_config_path(), args.keeps_running)
            logs.configure(settings.logging, args.verbose, args.keeps_running)
            return int(args.handler(args, Livewall(settings)))
        except ConfigError as exc:
            print_problems(exc.problems)
            return 2
        except UsageError as exc:
            print(f"livewall: error: {exc}", file=sys.stderr)
            return 2
        except StoreError as exc:
            print(f"livewall: error: {exc}", file=sys.stderr)
            return 1
        except OSError as exc:  # a file to write or read: say which and why
            where = f"{exc.filename}: " if exc.filename else ""
            print(f"livewall: error: {where}{exc.strerror or exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130
        except Exception as exc:
            if args.verbose:
                raise
            print(
                f"livewall: internal error: {exc!r} (run with -v for the details)", file=sys.stderr
            )
            return 70


def add_config_option(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=default,
        help="TOML configuration file (default: $LIVEWALL_CONFIG or config/default.toml)",
    )


def load_config(path: Path, keeps_running: bool) -> Settings:
    """The settings, or ConfigError with all the file's errors; a command that keeps running
    also says what its environment lacks (it still starts: each source reports its own)."""
    checked = check_file(path)
    if checked.settings is None:
        raise ConfigError(checked.errors)
    if keeps_running:
        lacking = environment_problems(checked.settings, os.environ, str(path))
        print_problems([*checked.warnings, *lacking], severity="warning")
    return checked.settings


def print_problems(problems: Sequence[ConfigProblem], severity: str | None = None) -> None:
    for problem in problems:
        print(f"livewall: {severity or problem.severity}: {problem}", file=sys.stderr)
    sys.stderr.flush()


def prepare_store(app: Livewall, out: TextIO = sys.stdout) -> None:
    """Check the store answers and bring its schema up to date."""
    app.store.check()
    applied = app.store.migrate()
    if applied:
        print(f"store {app.store.safe_url}: applied migrations {', '.join(applied)}", file=out)
