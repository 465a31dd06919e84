"""[logging]: the level a running command logs at, and one JSON object per line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from aggregator.logs import LivewallHandler, configure
from aggregator.settings import LoggingSettings


@pytest.fixture(autouse=True)
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    for handler in [h for h in root.handlers if isinstance(h, LivewallHandler)]:
        root.removeHandler(handler)
    root.setLevel(level)


def test_json_lines_carry_the_fields_given_as_extra() -> None:
    out = io.StringIO()
    configure(LoggingSettings(format="json", level="info"), keeps_running=True, stream=out)
    logging.getLogger("livewall.access").info("GET / 200", extra={"status": 200})
    logging.getLogger("livewall").debug("not at info")
    (line,) = [json.loads(text) for text in out.getvalue().splitlines()]
    assert (line["level"], line["logger"], line["message"]) == (
        "info",
        "livewall.access",
        "GET / 200",
    )
    assert line["status"] == 200 and line["time"].endswith("+00:00")


def test_text_lines_and_the_level_of_one_shot_commands() -> None:
    out = io.StringIO()
    configure(LoggingSettings(level="debug"), keeps_running=False, stream=out)
    logging.getLogger("livewall").info("a one-shot command stays quiet")
    logging.getLogger("livewall").warning("but warns")
    assert out.getvalue().count("\n") == 1 and " WARNING livewall: but warns" in out.getvalue()
    configure(LoggingSettings(level="debug"), keeps_running=True, stream=out)
    logging.getLogger("livewall").debug("a server logs at its level")
    assert "DEBUG livewall: a server logs at its level" in out.getvalue()


def test_configuring_again_replaces_only_its_own_handler() -> None:
    other = logging.NullHandler()
    logging.getLogger().addHandler(other)
    try:
        configure(None, stream=io.StringIO())
        configure(None, stream=io.StringIO())
        handlers = logging.getLogger().handlers
        assert other in handlers
        assert len([h for h in handlers if isinstance(h, LivewallHandler)]) == 1
    finally:
        logging.getLogger().removeHandler(other)
