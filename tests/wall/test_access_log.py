"""The log of a real `livewall serve`: one line per request when its answer is finished (a
screen's stream when it ends), a start and a stop line, in JSON; secrets never written."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.wall.processes import SECRET_KEY, Livewall, free_port, write_config
from wall.access_log import shown_query

SECRET = "jeton-tres-secret-42"
HELD_SECONDS = 1.5


def lines(err: str) -> list[dict[str, Any]]:
    """The JSON lines of a process' standard error (other lines are the environment's)."""
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


@pytest.mark.slow
def test_requests_start_and_stop_are_logged_and_secrets_never(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = write_config(tmp_path, '[logging]\nformat = "json"\nlevel = "info"')
    server = Livewall(config, "serve", "--port", str(port))
    server.wait_answering(base)
    with httpx.Client(base_url=base, timeout=10) as client:
        assert client.get("/wall/hall").status_code == 200
        secret_headers = {"Authorization": f"Bearer {SECRET}", "Cookie": f"lw_session={SECRET}"}
        client.get(f"/api/posts?limit=2&token={SECRET}", headers=secret_headers)
        client.get(f"/console/login?next=/console&api_key={SECRET}")
        with client.stream("GET", "/wall/hall/events") as stream:
            received = stream.iter_lines()  # kept: a dropped iterator closes the response
            assert next(received) == "retry: 3000"  # the stream is open: hold it, then leave
            time.sleep(HELD_SECONDS)
        time.sleep(0.5)  # the server notices the screen has gone
    assert server.stop() == 0, server.err

    assert SECRET not in server.err and SECRET not in server.out
    assert SECRET_KEY not in server.err
    logged = lines(server.err)
    messages = [line["message"] for line in logged]
    started = next(m for m in messages if m.startswith("livewall started"))
    assert "serve (web only)" in started and f"on http://127.0.0.1:{port}," in started
    assert messages[-1].startswith("livewall stopped")
    access = [line for line in logged if line["logger"] == "livewall.access"]
    page = next(line for line in access if line["path"] == "/wall/hall")
    assert (page["method"], page["status"], page["level"]) == ("GET", 200, "info")
    assert isinstance(page["duration_ms"], float)
    api = next(line for line in access if line["path"].startswith("/api/posts"))
    assert api["path"] == "/api/posts?limit=2&token=***" and api["status"] == 200
    assert any(line["path"].endswith("api_key=***") for line in access)
    (stream,) = [line for line in access if line["path"] == "/wall/hall/events"]
    # Written once, when the screen left: it lasted at least as long as it was held open.
    assert stream["status"] == 200 and stream["duration_ms"] >= HELD_SECONDS * 1000


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        (b"", ""),
        (b"lang=en", "?lang=en"),
        (b"token=abc&lang=fr", "?token=***&lang=fr"),
        (b"API_KEY=abc&sig=x&password=y", "?API_KEY=***&sig=***&password=***"),
        (b"after=12&csrf=t", "?after=12&csrf=***"),
    ],
)
def test_secret_looking_query_values_are_hidden(query: bytes, shown: str) -> None:
    assert shown_query(query) == shown
