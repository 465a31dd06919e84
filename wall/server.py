"""The web server as livewall runs it: the socket bound before anything starts, and a stop
(SIGTERM, Ctrl+C) that ends the screens' streams at once instead of waiting on them."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn


class PortBusy(OSError):
    """The address to listen on cannot be had: its one line says which and why."""


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on `host`:`port`, taken before the store, the scheduler or anything
    else starts, so a busy port stops the program while nothing has happened yet."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise PortBusy(errno.EADDRNOTAVAIL, f"cannot listen on {host}: {exc.strerror}") from None
    listening = socket.socket(family, kind, proto)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind(address)
    except OSError as exc:
        listening.close()
        raise PortBusy(exc.errno or 0, _why(host, port, exc)) from None
    listening.set_inheritable(True)
    return listening


def _why(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} is already in use on {host} (stop what uses it, or use --port)"
    if exc.errno == errno.EACCES:
        return f"port {port} on {host} needs privileges (use a port above 1023, or a proxy)"
    return f"cannot listen on {host}:{port}: {exc.strerror}"


class Server(uvicorn.Server):
    """uvicorn's server, which tells the application to close its streams when it is asked
    to stop (before it waits for open connections to finish)."""

    def __init__(self, config: uvicorn.Config, close_streams: Callable[[], int]) -> None:
        super().__init__(config)
        self.close_streams = close_streams
        self.streams_closed = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        first = not self.should_exit
        super().handle_exit(sig, frame)
        if first and self._loop is not None:
            # A signal handler runs between two bytecodes: the streams are closed on the loop.
            self._loop.call_soon_threadsafe(self._close)

    def _close(self) -> None:
        self.streams_closed = self.close_streams()
