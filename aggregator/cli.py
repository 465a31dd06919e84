"""The `livewall` command, less the web commands (`run`, `serve`), which wall/cli.py adds."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any, TextIO

from aggregator import accounts_cli
from aggregator.config_problems import ConfigProblem
from aggregator.config_values import hide_password
from aggregator.docs import settings_markdown
from aggregator.environment import check_with_environment, environment_problems
from aggregator.export import write_export
from aggregator.livewall import Livewall
from aggregator.scheduler import create_scheduler, stop_collecting
from aggregator.settings import ConfigError, Settings, check_file, default_config_path
from aggregator.sources import TABLE_HEADER
from aggregator.store import StoreError
from aggregator.streams import StreamRunner

Handler = Callable[[argparse.Namespace, Livewall], int]
# Commands that keep running: they say at start what the environment lacks.
RUNNING_COMMANDS = frozenset({"run", "serve", "worker"})


class UsageError(Exception):
    """A wrong argument: the message says which and why; exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="livewall", description="Live-coverage aggregator for events: wall, console, digest."
    )
    _add_config_option(parser, default=None)
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add(commands, "migrate", "apply the store's pending migrations", cmd_migrate)
    check = _add(
        commands,
        "check-config",
        "validate the configuration and its environment; list every problem",
        cmd_check_config,
    )
    check.set_defaults(needs_config=False)  # it reads the file itself and opens no store
    _add(commands, "worker", "run the scheduler and collectors (no web server)", cmd_worker)
    collect = _add(commands, "collect", "run collectors and print what each one did", cmd_collect)
    collect.add_argument("--once", action="store_true", required=True, help="run each source once")
    collect.add_argument("--source", action="append", metavar="NAME", help="only this source")
    _add(commands, "sources", "show each source's health", cmd_sources)
    export = _add(commands, "export", "write every post, whatever its status", cmd_export)
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")
    from aggregator.digest.cli import add_digest_command  # it imports this module

    add_digest_command(commands, _add)
    docs = _add(commands, "settings-doc", "print the configuration reference (Markdown)", cmd_docs)
    docs.set_defaults(needs_config=False)
    accounts_cli.add_commands(commands, _add, UsageError)
    return parser


def _add(commands: Any, name: str, help_text: str, handler: Handler) -> argparse.ArgumentParser:
    sub: argparse.ArgumentParser = commands.add_parser(name, help=help_text, description=help_text)
    sub.set_defaults(handler=handler, needs_config=True)
    # Also after the command (`livewall check-config --config FILE`), where people type it.
    _add_config_option(sub, default=argparse.SUPPRESS)
    return sub


def _add_config_option(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=default,
        help="TOML configuration file (default: $LIVEWALL_CONFIG or config/default.toml)",
    )


def main(argv: Sequence[str] | None = None, parser: argparse.ArgumentParser | None = None) -> int:
    parser = parser or build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if not args.needs_config:
            return int(args.handler(args, None))
        settings = load_config(args.config or default_config_path(), args.command)
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
        print(f"livewall: internal error: {exc!r} (run with -v for the details)", file=sys.stderr)
        return 70


def load_config(path: Path, command: str) -> Settings:
    """The settings, or ConfigError with all the file's errors; a running command also says
    what its environment lacks (it still starts: each source reports its own)."""
    checked = check_file(path)
    if checked.settings is None:
        raise ConfigError(checked.errors)
    if command in RUNNING_COMMANDS:
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


def cmd_migrate(args: argparse.Namespace, app: Livewall) -> int:
    app.store.check()
    applied = app.store.migrate()
    print(f"applied {', '.join(applied)}" if applied else "the store is up to date")
    return 0


def cmd_check_config(args: argparse.Namespace, app: Livewall | None) -> int:
    """Every problem of the file and the environment at once; creates nothing anywhere."""
    checked = check_with_environment(args.config or default_config_path(), os.environ)
    if checked.settings is not None:
        print(describe(checked.settings), flush=True)
    print_problems(checked.problems)
    errors, warnings = len(checked.errors), len(checked.warnings)
    if errors:
        print(
            f"configuration is not valid: {_count(errors, 'error')}, {_count(warnings, 'warning')}",
            file=sys.stderr,
        )
        return 2
    with_warnings = f", with {_count(warnings, 'warning')}" if warnings else ""
    print(f"configuration is valid{with_warnings}")
    return 0


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' if number != 1 else ''}"


def describe(settings: Settings) -> str:
    event = settings.event
    tags = " ".join(f"#{t}" for t in event.hashtags) or "(none)"
    lines = [
        f"event: {event.name} — {tags} — {event.timezone} — {', '.join(event.languages)}",
        f"store: {hide_password(settings.storage.url)}",
        f"server: {settings.server.public_url} (listening on {settings.server.host}:{settings.server.port})",
        f"moderation: {settings.moderation.mode}-moderation, "
        f"{len(settings.moderation.trusted_authors)} trusted, "
        f"{len(settings.moderation.banned_authors)} banned, "
        f"word lists: {', '.join(settings.moderation.blocked_words) or 'none'}",
        f"sources ({len(settings.sources)}):",
    ]
    for s in settings.sources:
        flags = ", ".join(
            f for f, on in (("official", s.official), ("disabled", not s.enabled)) if on
        )
        lines.append(f"  - {s.name} ({s.type}, every {s.every} s{', ' + flags if flags else ''})")
    lines.append(f"screens ({len(settings.screens)}):")
    for screen in settings.screens:
        lines.append(f"  - {screen.name}: {screen.layout} → /wall/{screen.name}")
    lines.append(
        f"digest: every day at {settings.digest.send_at:%H:%M}, {len(settings.digest.recipients)} recipient(s)"
    )
    return "\n".join(lines)


def cmd_collect(args: argparse.Namespace, app: Livewall) -> int:
    prepare_store(app)
    names = args.source or [s.name for s in app.harvest.sources()]
    for name in names:
        try:
            app.settings.source(name)
        except KeyError as exc:
            raise UsageError(f"--source: {exc.args[0]}") from None
    return asyncio.run(_collect(app, names))


async def _collect(app: Livewall, names: list[str]) -> int:
    failures = 0
    try:
        for name in names:
            print(f"collecting {name}…", flush=True)
            report = await app.harvest.run_source(name)
            failures += report.error is not None
            print(f"  {report.line()}", flush=True)
    finally:
        await app.aclose()
    return 1 if failures else 0


def cmd_sources(args: argparse.Namespace, app: Livewall) -> int:
    prepare_store(app, out=sys.stderr)
    rows = [TABLE_HEADER, *(health.row() for health in app.sources.health())]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
    return 0


def cmd_export(args: argparse.Namespace, app: Livewall) -> int:
    prepare_store(app, out=sys.stderr)
    out: TextIO
    with args.output.open("w", encoding="utf-8", newline="") if args.output else _stdout() as out:
        count = write_export(app.store, args.format, out)
    print(f"exported {count} posts", file=sys.stderr)
    return 0


class _stdout:
    def __enter__(self) -> TextIO:
        return sys.stdout

    def __exit__(self, *exc: object) -> None:
        sys.stdout.flush()


def cmd_worker(args: argparse.Namespace, app: Livewall) -> int:
    prepare_store(app)
    print(f"worker: collecting {len(app.harvest.sources())} source(s); Ctrl+C stops", flush=True)
    asyncio.run(run_worker(app))
    return 0


async def run_worker(app: Livewall) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    # The first post of the morning must not wait for models to load.
    await asyncio.to_thread(app.pipeline.warm)
    scheduler = create_scheduler(app.harvest, app.settings.zone)
    scheduler.start()
    streams = StreamRunner(app.harvest)
    await streams.start()
    try:
        await stop.wait()
        print("worker: stopping; collections in progress finish storing…", flush=True)
    finally:
        await streams.stop()
        unfinished = await stop_collecting(scheduler, app.harvest)
        if unfinished:
            print(f"worker: stopped during {', '.join(unfinished)} (their next run catches up)")
        await app.aclose()
    print("worker stopped.", flush=True)


def cmd_docs(args: argparse.Namespace, app: Livewall | None) -> int:
    print(settings_markdown(), end="")
    return 0
