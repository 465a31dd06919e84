"""Many screens in one process of their own, so that the server is measured alone.

Each screen is a bare socket reading a server-sent event stream in chunks (cheap enough for a
thousand on one core). For every `post` event it notes when the event was complete (its blank
line), the post id (`id="post-N"` in the card) and the event id, and checks what a screen must
see: each post once, event ids increasing. A stream the server ends is reopened with
`Last-Event-ID`, as a browser's EventSource does.

Driven through stdin, one command a line, answered on stdout:
  connect GROUP URL COUNT  → `ready GROUP OPEN` once every stream has had its hello
  stop                     → one JSON line with each group's figures, then exit
and, unasked, `done GROUP POST` once every open stream of GROUP has had that post.
`python -m bench.clients` runs it.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from array import array
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

POST_ID = re.compile(rb'id="post-(\d+)"')
EVENT_ID = re.compile(rb"^id: (\d+)$", re.MULTILINE)
EVENT_KIND = re.compile(rb"^event: (\w+)$", re.MULTILINE)
REOPEN_SECONDS = 1.0


@dataclass
class Screen:
    seen: bytearray = field(default_factory=bytearray)  # one bit per post id
    last_id: int = 0
    duplicates: int = 0
    disorder: int = 0
    reopened: int = 0
    refused: int = 0

    def first_time(self, post: int) -> bool:
        byte, bit = divmod(post, 8)
        if byte >= len(self.seen):
            self.seen.extend(bytes(byte - len(self.seen) + 1024))
        if self.seen[byte] & (1 << bit):
            self.duplicates += 1
            return False
        self.seen[byte] |= 1 << bit
        return True


@dataclass
class Group:
    name: str
    url: str
    screens: list[Screen] = field(default_factory=list)
    arrivals: dict[int, array[float]] = field(default_factory=dict)
    removals: int = 0
    failed: int = 0

    def arrived(self, post: int, at: float) -> None:
        times = self.arrivals.setdefault(post, array("d"))
        times.append(at)
        if len(times) == len(self.screens):
            print(f"done {self.name} {post}", flush=True)

    def figures(self) -> dict[str, Any]:
        return {
            "screens": len(self.screens),
            "failed": self.failed,
            "duplicates": sum(s.duplicates for s in self.screens),
            "disorder": sum(s.disorder for s in self.screens),
            "reopened": sum(s.reopened for s in self.screens),
            "refused": sum(s.refused for s in self.screens),
            "removals": self.removals,
            "arrivals": {str(post): list(times) for post, times in self.arrivals.items()},
        }


async def read_stream(group: Group, screen: Screen, ready: asyncio.Event) -> None:
    parts = urlsplit(group.url)
    while True:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        resume = f"Last-Event-ID: {screen.last_id}\r\n" if screen.last_id else ""
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        writer.write(f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n{resume}\r\n".encode())
        try:
            await read_events(group, screen, reader, ready)
        finally:
            writer.close()
        screen.reopened += 1
        await asyncio.sleep(REOPEN_SECONDS)


async def read_events(
    group: Group, screen: Screen, reader: asyncio.StreamReader, ready: asyncio.Event
) -> None:
    buffer = b""
    head_done = False
    while chunk := await reader.read(65536):
        buffer += chunk
        if not head_done:
            if b"\r\n\r\n" not in buffer:
                continue
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            if b" 200 " not in head.split(b"\r\n", 1)[0]:
                screen.refused += 1
                return
            head_done = True
        *events, buffer = _events(buffer)
        at = time.monotonic()
        for event in events:
            _note(group, screen, event, at, ready)


def _events(buffer: bytes) -> list[bytes]:
    """Complete events and the unfinished rest, with chunked transfer framing ignored: each
    chunk's size line stands alone between events, so it never matches an event's fields."""
    return buffer.replace(b"\r\n", b"\n").split(b"\n\n")


def _note(group: Group, screen: Screen, event: bytes, at: float, ready: asyncio.Event) -> None:
    kind = EVENT_KIND.search(event)
    if kind is None:
        return
    if kind[1] == b"hello":
        ready.set()
        return
    found = EVENT_ID.search(event)
    if found is not None:
        event_id = int(found[1])
        if event_id <= screen.last_id:
            screen.disorder += 1
        screen.last_id = max(screen.last_id, event_id)
    if kind[1] == b"remove":
        group.removals += 1
    elif kind[1] == b"post" and (post := POST_ID.search(event)) is not None:
        _arrived(group, screen, int(post[1]), at)


def _arrived(group: Group, screen: Screen, post: int, at: float) -> None:
    if screen.first_time(post):
        group.arrived(post, at)


async def connect(groups: dict[str, Group], name: str, url: str, count: int) -> None:
    group = groups[name] = Group(name, url)
    readies = []
    for _ in range(count):
        screen, ready = Screen(), asyncio.Event()
        group.screens.append(screen)
        readies.append(ready)
        task = asyncio.create_task(read_stream(group, screen, ready))
        task.add_done_callback(lambda t, g=group: _failed(g, t))
    waiting = [asyncio.create_task(r.wait()) for r in readies]
    await asyncio.wait(waiting, timeout=120)
    print(f"ready {name} {sum(r.is_set() for r in readies)}", flush=True)


def _failed(group: Group, task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        group.failed += 1


async def main() -> None:
    groups: dict[str, Group] = {}
    while line := await asyncio.to_thread(sys.stdin.readline):
        command, *args = line.split()
        if command == "connect":
            await connect(groups, args[0], args[1], int(args[2]))
        elif command == "stop":
            break
    print(json.dumps({name: group.figures() for name, group in groups.items()}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
