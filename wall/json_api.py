"""The JSON API's small parts: an error answer, and typed fields of a request's JSON object
(a wrong one is a 400 that names the field)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from wall.params import BadRequest


def problem(status: int, message: str, **headers: str) -> JSONResponse:
    """An error answer: {"error": message}."""
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def field(body: dict[str, Any], name: str, kind: type, default: Any = None) -> Any:
    """A field of `kind` (a JSON true or false is no number), `default` when absent or null."""
    value = body.get(name, default)
    if value is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise BadRequest(f"field '{name}' must be {kind.__name__}, got {value!r}")
    return value


def text_field(body: dict[str, Any], name: str, limit: int) -> str | None:
    """A string field cut to `limit` characters, None when absent or null."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"field '{name}' must be a string, got {value!r}")
    return value[:limit]
