"""JSON sent to us from outside (a webhook's post, a screen's heartbeat, a staff API call),
read so that anything wrong in it is refused with a reason rather than failing later.

`load` accepts UTF-8 JSON nested at most MAX_DEPTH deep whose every string a store can hold:
no NUL character (PostgreSQL text refuses it) and no lone surrogate (such as "\\ud800", which
JSON can spell but UTF-8 cannot encode). Errors name the field: "author.name", "media[0].alt".
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 20


class PayloadError(ValueError):
    """What is wrong with a payload, in plain words, naming the field."""


def load(raw: bytes, max_depth: int = MAX_DEPTH) -> Any:
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError:
        # The parser recurses once per level: past about a thousand it stops by itself.
        raise PayloadError(f"the JSON is nested more than {max_depth} levels deep") from None
    except ValueError:  # UnicodeDecodeError too
        raise PayloadError("the body is not valid JSON (UTF-8)") from None
    check(data, max_depth)
    return data


def check(data: Any, max_depth: int = MAX_DEPTH) -> None:
    """Refuse nesting past `max_depth` and strings no store can hold (walked without recursion)."""
    pending: list[tuple[Any, str, int]] = [(data, "", 0)]
    while pending:
        value, path, depth = pending.pop()
        if isinstance(value, str):
            text_problem(value, path)
            continue
        if isinstance(value, dict):
            children = [(v, f"{path}.{k}" if path else str(k), depth + 1) for k, v in value.items()]
        elif isinstance(value, list):
            children = [(v, f"{path}[{n}]", depth + 1) for n, v in enumerate(value)]
        else:
            continue
        if depth + 1 > max_depth:
            raise PayloadError(f"the JSON is nested more than {max_depth} levels deep")
        pending.extend(children)


def text_problem(value: str, field: str) -> None:
    """Refuse a string with a character no store can hold, naming `field`."""
    name = f"field '{field}'" if field else "the body"
    if "\x00" in value:
        raise PayloadError(f"{name} contains a NUL character (\\u0000)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = f"\\u{ord(value[exc.start]):04x}"
        raise PayloadError(
            f"{name} contains a lone surrogate ({code}), which is not a character"
        ) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
