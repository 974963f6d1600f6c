"""Validation errors made safe to send back or store: bounded in size, plain JSON.

Pydantic's error items carry the offending ``input`` (which may be megabytes, or a NaN
that JSON cannot carry) and ``loc`` parts that may be arbitrary keys of the input. Items
keep ``type``, ``loc`` and ``msg``; ``input`` only when it is small, finite JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

MAX_ITEMS = 20
"""Error items reported; the rest are counted in a last item."""
MAX_TEXT_CHARS = 200
"""Longest ``msg``, ``loc`` part or echoed ``input`` (as JSON) kept whole."""
ELLIPSIS = "…"


def bounded_errors(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """FastAPI/pydantic error items, each small and JSON-safe, at most ``MAX_ITEMS`` + 1."""
    items = list(errors)
    bounded = [_bounded_item(item) for item in items[:MAX_ITEMS]]
    if len(items) > MAX_ITEMS:
        bounded.append(
            {
                "type": "too_many_errors",
                "loc": [],
                "msg": f"{len(items) - MAX_ITEMS} more errors not shown",
            }
        )
    return bounded


def describe(error: Mapping[str, Any]) -> str:
    """One error item as ``field.path: message``, bounded."""
    item = _bounded_item(error)
    path = ".".join(str(part) for part in item["loc"])
    return f"{path}: {item['msg']}" if path else item["msg"]


def clip(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, marked when cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def _bounded_item(item: Mapping[str, Any]) -> dict[str, Any]:
    loc = item.get("loc", ())
    parts = loc if isinstance(loc, list | tuple) else (loc,)
    bounded: dict[str, Any] = {
        "type": clip(str(item.get("type", "value_error"))),
        "loc": [part if isinstance(part, int) else clip(str(part)) for part in parts],
        "msg": clip(str(item.get("msg", ""))),
    }
    if "input" in item and _small_json(item["input"]):
        bounded["input"] = item["input"]
    return bounded


def _small_json(value: Any) -> bool:
    if isinstance(value, str | bytes) and len(value) > MAX_TEXT_CHARS:
        return False  # not worth encoding to find out
    try:
        encoded = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return False
    return len(encoded) <= MAX_TEXT_CHARS
