"""The core's commands: the worker, collecting once, sources' health, export, migrations and
the configuration. The web's, the digest's and the accounts' commands register themselves
(wall/cli.py, digest_cli.py, accounts_cli.py)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from contextlib import suppress
from pathlib import Path
from typing import TextIO

from aggregator.application import Livewall
from aggregator.commands import Commands, UsageError, prepare_store, print_problems
from aggregator.config_values import hide_password
from aggregator.docs import settings_markdown
from aggregator.environment import check_with_environment
from aggregator.export import write_export
from aggregator.scheduler import create_scheduler, stop_collecting
from aggregator.settings import Settings, default_config_path
from aggregator.sources import TABLE_HEADER
from aggregator.streams import StreamRunner

log = logging.getLogger("livewall")


def register(commands: Commands) -> None:
    """The core's commands: running the collectors, the store, the configuration."""
    commands.add(
        "worker",
        "run the scheduler and collectors (no web server)",
        cmd_worker,
        keeps_running=True,
    )
    collect = commands.add("collect", "run collectors and print what each one did", cmd_collect)
    collect.add_argument("--once", action="store_true", required=True, help="run each source once")
    collect.add_argument("--source", action="append", metavar="NAME", help="only this source")
    commands.add("sources", "show each source's health", cmd_sources)
    export = commands.add("export", "write every post, whatever its status", cmd_export)
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")
    commands.add("migrate", "apply the store's pending migrations", cmd_migrate)
    # It reads the file itself and opens no store.
    commands.add(
        "check-config",
        "validate the configuration and its environment; list every problem",
        cmd_check_config,
        needs_config=False,
    )
    commands.add(
        "settings-doc",
        "print the configuration reference (Markdown)",
        cmd_docs,
        needs_config=False,
    )


def cmd_migrate(args: argparse.Namespace, app: Livewall) -> int:
    app.store.check()
    applied = app.store.migrate()
    print(f"applied {', '.join(applied)}" if applied else "the store is up to date")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
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
    log.info("livewall started: worker (collectors only), %d source(s)", len(app.harvest.sources()))
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
    scheduler = create_scheduler(app.harvest, app.digest, app.settings.zone)
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
    log.info("livewall stopped: worker")
    print("worker stopped.", flush=True)


def cmd_docs(args: argparse.Namespace) -> int:
    print(settings_markdown(), end="")
    return 0
