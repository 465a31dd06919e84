"""`livewall serve --workers N`: N web processes on one port, sharing everything through the store.

uvicorn's own supervisor starts the processes (and starts again one that dies); each builds
its application from the same configuration file, which the parent names in the environment
the children inherit. What must agree between processes is in the store (sessions, login
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
Prepare = Callable[[argparse.Namespace, Livewall, bool], tuple[str, int]]


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


def serve_workers(args: argparse.Namespace, app: Livewall, workers: int, prepare: Prepare) -> int:
    """Migrate once here, then run `workers` web processes until Ctrl+C or SIGTERM."""
    host, port = prepare(args, app, False)
    os.environ[CONFIG_ENV] = str((args.config or default_config_path()).resolve())
    app.store.dispose()  # the parent serves nothing: its connections would only idle
    print(f"  web processes: {workers} on port {port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.run(
            f"{__name__}:web_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
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
    return create_app(Livewall(settings), run_scheduler=False)
