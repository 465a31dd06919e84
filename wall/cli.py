"""The `livewall` program: every package's commands, and the web's own, `run` (all-in-one) and
`serve` (web only)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

import uvicorn

from aggregator import accounts_cli, digest_cli
from aggregator import cli as core_cli
from aggregator.accounts import FIRST_ADMIN, ensure_first_admin
from aggregator.application import Livewall
from aggregator.commands import Commands, prepare_store
from wall import processes
from wall.app import create_app
from wall.processes import GRACEFUL_SHUTDOWN_SECONDS


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
    # The order of `livewall --help`: the web, the core's, then the digest and the accounts.
    for package_register in (
        register,
        core_cli.register,
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
        return processes.serve_workers(args, app, workers, prepare=_prepare)
    return _serve(args, app, run_scheduler=False)


def _prepare(args: argparse.Namespace, app: Livewall, run_scheduler: bool) -> tuple[str, int]:
    """Migrate, say where everything is, make the first account: (host, port) to listen on."""
    prepare_store(app)
    host = args.host or app.settings.server.host
    port = args.port or app.settings.server.port
    base = (
        f"http://{host}:{port}" if host not in ("0.0.0.0", "::") else app.settings.server.public_url
    )
    print(banner(app, base, run_scheduler), flush=True)
    first_password = ensure_first_admin(app.store)
    if first_password is not None:  # the two-command start must reach the console too
        print(first_admin_notice(base, first_password), flush=True)
    return host, port


def _serve(args: argparse.Namespace, app: Livewall, run_scheduler: bool) -> int:
    host, port = _prepare(args, app, run_scheduler)
    config = uvicorn.Config(
        create_app(app, run_scheduler=run_scheduler),
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        proxy_headers=True,
    )
    # uvicorn re-raises Ctrl+C after its graceful shutdown: for us that is a normal stop.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run()
    print("livewall stopped.", flush=True)
    return 0


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
