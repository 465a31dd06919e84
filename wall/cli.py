"""The `livewall` program: every package's commands, and the web's own, `run` (all-in-one) and
`serve` (web only)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence

import uvicorn

from aggregator import accounts_cli, digest_cli, ops_cli
from aggregator import cli as core_cli
from aggregator.accounts import FIRST_ADMIN, ensure_first_admin
from aggregator.application import Livewall
from aggregator.commands import Commands, prepare_store
from wall import processes
from wall.app import create_app
from wall.processes import GRACEFUL_SHUTDOWN_SECONDS
from wall.server import Server, bind

log = logging.getLogger("livewall")


def register(commands: Commands) -> None:
    """The web's commands."""
    run = commands.add(
        "run", "all-in-one: migrate, collect and serve the web", cmd_run, keeps_running=True
    )
    serve = commands.add(
        "serve", "serve the web only (run a worker beside it)", cmd_serve, keeps_running=True
    )
    for command in (run, serve):
        command.add_argument("--host", help="listen address (default: [server] host)")
        command.add_argument("--port", type=int, help="listen port (default: [server] port)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="web processes sharing the port (more than 1 needs LIVEWALL_SECRET_KEY)",
    )


def build_commands() -> Commands:
    commands = Commands.program(
        "livewall", "Live-coverage aggregator for events: wall, console, digest."
    )
    # The order of `livewall --help`: the web, the core's, the operators', the digest, the accounts.
    for package_register in (
        register,
        core_cli.register,
        ops_cli.register,
        digest_cli.register,
        accounts_cli.register,
    ):
        package_register(commands)
    return commands


def cmd_run(args: argparse.Namespace, app: Livewall) -> int:
    return _serve(args, app, run_scheduler=True)


def cmd_serve(args: argparse.Namespace, app: Livewall) -> int:
    workers = processes.check_workers(args.workers, app.env)
    if workers > 1:
        return processes.serve_workers(args, app, workers, announce)
    return _serve(args, app, run_scheduler=False)


def _serve(args: argparse.Namespace, app: Livewall, run_scheduler: bool) -> int:
    host = args.host or app.settings.server.host
    port = args.port or app.settings.server.port
    listening = bind(host, port)  # first: a busy port stops us before anything has started
    app = processes.listening_on(app, host, port)
    announce(app, run_scheduler)
    web = create_app(app, run_scheduler=run_scheduler)
    config = uvicorn.Config(
        web,
        # Our own access log (wall/access_log.py) and our handler: uvicorn configures none.
        log_config=None,
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        proxy_headers=True,
    )
    server = Server(config, web.state.close_streams)
    role = "run (web and collectors)" if run_scheduler else "serve (web only)"
    where = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    log.info(
        "livewall started: %s, pid %d, on %s, public address %s",
        role,
        os.getpid(),
        where,
        app.settings.server.public_url,
    )
    # uvicorn raises the stopping signal again once it has shut down; SIGTERM then ends the
    # program like Ctrl+C does (KeyboardInterrupt, caught below), not with status -15.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[listening])
    log.info("livewall stopped: %s", _count(server.streams_closed, "stream") + " closed")
    print(f"livewall stopped: {_count(server.streams_closed, 'stream')} closed.", flush=True)
    return 0


def announce(app: Livewall, run_scheduler: bool) -> None:
    """Migrate, say where everything is, and make the first account if there is none."""
    base = app.settings.server.public_url
    prepare_store(app)
    print(banner(app, base, run_scheduler), flush=True)
    first_password = ensure_first_admin(app.store, app.accounts.hashing)
    if first_password is not None:  # the two-command start must reach the console too
        print(first_admin_notice(base, first_password), flush=True)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' if number != 1 else ''}"


def banner(app: Livewall, base: str, run_scheduler: bool) -> str:
    lines = [f"livewall — {app.settings.event.name}", f"  store:   {app.store.safe_url}"]
    if run_scheduler:
        lines.append(f"  sources: {', '.join(s.name for s in app.harvest.sources()) or 'none'}")
    lines.append(f"  screens: {base}/wall/")
    for screen in app.settings.screens:
        lines.append(f"           {base}/wall/{screen.name}")
    lines += [
        f"  console: {base}/console",
        f"  digest:  {base}/digest/",
        f"  API:     {base}/api/posts",
    ]
    lines.append("Ctrl+C stops.")
    return "\n".join(lines)


def first_admin_notice(base: str, password: str) -> str:
    return (
        f"  first start: console account {FIRST_ADMIN!r} created, password: {password}\n"
        f"  (shown once; log in at {base}/console/login and add staff with `livewall user add`)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    return build_commands().run(argv)


if __name__ == "__main__":
    sys.exit(main())
