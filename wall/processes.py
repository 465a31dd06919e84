"""`livewall serve --workers N`: N web processes on one port, sharing everything through the store.

uvicorn's own supervisor starts the processes (and starts again one that dies); each builds
its application from the same configuration file, which the parent names in the environment
the children inherit, with the address it listens on. What must agree between processes is in the store (sessions, login
throttling, undo, the change sequence) or derived from LIVEWALL_SECRET_KEY (the cookies' and
the media URLs' signatures), which is why several processes refuse to start without it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Callable, Mapping

import uvicorn
from starlette.applications import Starlette

from aggregator import logs
from aggregator.application import Livewall
from aggregator.commands import UsageError, load_config
from aggregator.settings import CONFIG_ENV, SESSION_KEY_ENV, default_config_path
from wall.app import create_app

# Open event streams would hold a shutdown forever; screens reconnect on their own.
GRACEFUL_SHUTDOWN_SECONDS = 3
# uvicorn kills a worker that does not answer its health check in time (5 s by default): a
# worker loading its language models on a busy 2-core machine can take longer, and would be
# killed and started again forever.
WORKER_HEALTHCHECK_SECONDS = 60
# host:port, from the parent to its web processes (their public address follows it).
LISTEN_ENV = "LIVEWALL_WORKERS_LISTEN"
Announce = Callable[[Livewall, bool], None]


def check_workers(workers: int, env: Mapping[str, str]) -> int:
    """The number of web processes asked for, or UsageError saying why it cannot be."""
    if workers < 1:
        raise UsageError(f"--workers must be at least 1 (got {workers})")
    if workers > 1 and not env.get(SESSION_KEY_ENV):
        # Each process would sign cookies and image URLs with its own random key: a login on
        # one would be refused by the next, and images would break at random.
        raise UsageError(
            f"--workers {workers} needs {SESSION_KEY_ENV} set (the same secret for every "
            "process); set it or serve with one process"
        )
    return workers


def listening_on(app: Livewall, host: str, port: int) -> Livewall:
    """The application for a server on `host`:`port` (from the command line, if it moved)."""
    if (host, port) == (app.settings.server.host, app.settings.server.port):
        return app
    return Livewall(app.settings.listening_on(host, port), store=app.store, env=app.env)


def serve_workers(args: argparse.Namespace, app: Livewall, workers: int, announce: Announce) -> int:
    """Migrate once here, then run `workers` web processes until Ctrl+C or SIGTERM."""
    host = args.host or app.settings.server.host
    port = args.port or app.settings.server.port
    app = listening_on(app, host, port)
    announce(app, False)
    os.environ[CONFIG_ENV] = str((args.config or default_config_path()).resolve())
    os.environ[LISTEN_ENV] = f"{host}:{port}"
    app.store.dispose()  # the parent serves nothing: its connections would only idle
    print(f"  web processes: {workers} on port {port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.run(
            f"{__name__}:web_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_config=None,  # each process configures livewall's own (web_app)
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
            proxy_headers=True,
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )
    print("livewall stopped.", flush=True)
    return 0


def web_app() -> Starlette:
    """One web process's application (called by uvicorn in each child process)."""
    settings = load_config(default_config_path(), keeps_running=False)
    logs.configure(settings.logging, keeps_running=True)
    host, _, port = os.environ.get(LISTEN_ENV, "").rpartition(":")
    app = Livewall(settings)
    return create_app(listening_on(app, host, int(port)) if host else app, run_scheduler=False)
