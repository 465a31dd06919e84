"""Another process's writes to a SQLite file, seen within milliseconds without reading a table.

`PRAGMA data_version` changes on a connection each time another connection commits to the
file, and reading it costs microseconds (it looks at the WAL index in shared memory, no table
and no lock). A dedicated connection, which never writes, reads it every few milliseconds in
a thread of its own; only when it moves does the feed read the change sequence.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

WATCH_SECONDS = 0.02
log = logging.getLogger("livewall.changes")


class WriteWatcher:
    def __init__(
        self, path: str, on_write: Callable[[], None], interval: float = WATCH_SECONDS
    ) -> None:
        self.path = path
        self.on_write = on_write
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="livewall-write-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._watch()
            except sqlite3.Error as exc:  # the file moved, the disk hiccuped: open it again
                log.warning("watching %s for writes failed (%s); retrying", self.path, exc)
                self._stop.wait(1.0)

    def _watch(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            seen = _data_version(conn)
            self.on_write()  # whatever was written before the first look
            while not self._stop.wait(self.interval):
                version = _data_version(conn)
                if version != seen:
                    seen = version
                    self.on_write()
        finally:
            conn.close()


def _data_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA data_version").fetchone()[0])
