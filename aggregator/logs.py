"""Where livewall's log lines go and what they look like: `[logging] level` and `format`.

One handler on the root logger, on standard error, so uvicorn's, APScheduler's and our own
lines share one format; a log collector reads `format = "json"`, one object per line.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from aggregator.settings import LoggingSettings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The attributes every LogRecord has: anything else was passed with `extra=` and is a field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class LivewallHandler(logging.StreamHandler[TextIO]):
    """The handler `configure` installs, told apart from anyone else's."""


def configure(
    settings: LoggingSettings | None,
    verbose: bool = False,
    keeps_running: bool = False,
    stream: TextIO | None = None,
) -> None:
    """Log at the configured level when the command keeps running (a server, a worker);
    a one-shot command stays quiet below warnings. `-v` (verbose) always means debug."""
    level = logging.WARNING
    if verbose:
        level = logging.DEBUG
    elif keeps_running and settings is not None:
        level = getattr(logging, settings.level.upper())
    handler = LivewallHandler(stream or sys.stderr)
    json_lines = settings is not None and settings.format == "json"
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    # Only ours is replaced: a host's handlers (pytest's capture, an embedding app's) stay.
    for old in [h for h in root.handlers if isinstance(h, LivewallHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Their debug lines are about their own machinery, not about livewall's work.
    for chatty in ("httpx", "httpcore", "apscheduler.executors.default", "alembic"):
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))
