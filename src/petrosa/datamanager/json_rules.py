"""What a JSON value stored by the Data Manager may be: the ground every backend shares.

Documents (bodies, ``$set``/``$inc`` operands) and configuration (application values,
strategy parameters, position metadata, authors) pass through these checks before anything
is written (filter operands and cursors through :func:`check_operand`), so a value accepted
on one backend is stored and read back equal on all of them, and one refused is a 422
naming its JSON path:

- integers fit a signed 64-bit integer; floats are finite and within ±2^53, past which every
  float is an integer (PostgreSQL's JSONB keeps a number as the decimal it was written as,
  so ``1e20`` came back as a 21-digit integer that no JSON encoder in the service would
  write, and ``9.2e18`` as an integer that is not the float sent);
- strings and object keys are valid Unicode without NUL: no lone UTF-16 surrogates (SQLite
  and MariaDB store UTF-8, which cannot hold them) and no U+0000 (PostgreSQL's text and
  JSONB cannot hold it);
- objects and arrays nest at most :data:`MAX_NESTING` deep (MariaDB's JSON functions stop
  at 32; Python's decoders and encoders have recursion limits too);
- the whole value encodes to at most a caller-given number of bytes of compact UTF-8 JSON.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from petrosa.datamanager.errors import InvalidInput

MAX_NESTING = 24
"""Deepest nesting of objects and arrays in a stored value (MariaDB's JSON stops at 32)."""
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_FLOAT_MAGNITUDE = float(2**53)
"""Largest float magnitude: beyond it every float is an integer (send an integer instead)."""

_UNSTORABLE_CHARACTER = re.compile("[\x00\ud800-\udfff]")
"""NUL (PostgreSQL text cannot hold it) and lone surrogates (UTF-8 cannot encode them)."""

Loc = Sequence[str | int]
KeyRule = Callable[[str], str | None]
"""Extra rule for object keys: returns why a key is refused, or None when it is fine."""


def check_number(value: int | float, loc: Loc) -> None:
    """A number every backend reads back equal: an int64, or a finite float within ±2^53."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(loc, "numbers must be finite (no NaN or Infinity)")
        if abs(value) > MAX_FLOAT_MAGNITUDE:
            raise InvalidInput(
                loc, "floats must lie within ±2^53 (9007199254740992): send larger as integers"
            )
    elif not INT64_MIN <= value <= INT64_MAX:
        raise InvalidInput(loc, "integers must fit in 64 bits (within [-2^63, 2^63))")


def check_text(value: str, loc: Loc) -> None:
    """A string every backend stores: valid Unicode (no lone surrogate) and no NUL."""
    found = _UNSTORABLE_CHARACTER.search(value)
    if found is None:
        return
    if found.group() == "\x00":
        raise InvalidInput(loc, "strings must not contain NUL (\\u0000)")
    raise InvalidInput(
        loc, f"strings must be valid Unicode: lone surrogate at character {found.start()}"
    )


def check_json(
    value: Any,
    loc: Loc,
    *,
    max_bytes: int,
    depth: int = 0,
    key_rule: KeyRule | None = None,
) -> None:
    """Validate a JSON value to be stored; ``depth`` is how deep it sits in its document."""
    _check_tree(value, list(loc), depth, key_rule)
    size = len(orjson.dumps(value))
    if size > max_bytes:
        raise InvalidInput(loc, f"encodes to {size} bytes of JSON; at most {max_bytes} allowed")


def check_operand(value: Any, loc: Loc) -> None:
    """Validate a scalar compared with stored values (a filter operand, a cursor position).

    Its strings and integers follow the storage rules; floats need only be finite: a
    comparison with ``-1e300`` means the same on every backend, though storing it would not.
    """
    if isinstance(value, str):
        check_text(value, loc)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(loc, "numbers must be finite (no NaN or Infinity)")
    elif isinstance(value, int) and not isinstance(value, bool):
        check_number(value, loc)


def _check_tree(value: Any, loc: list[str | int], depth: int, key_rule: KeyRule | None) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        check_text(value, loc)
        return
    if isinstance(value, int | float):
        check_number(value, loc)
        return
    if depth >= MAX_NESTING:
        raise InvalidInput(loc, f"objects and arrays may nest at most {MAX_NESTING} deep")
    if isinstance(value, dict):
        for key, item in value.items():
            key_loc = [*loc, key]
            if not isinstance(key, str):
                raise InvalidInput(key_loc, "object keys must be strings")
            check_text(key, key_loc)
            if key_rule is not None and (problem := key_rule(key)) is not None:
                raise InvalidInput(key_loc, problem)
            _check_tree(item, key_loc, depth + 1, key_rule)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_tree(item, [*loc, index], depth + 1, key_rule)
    else:
        raise InvalidInput(loc, f"not a JSON value: {type(value).__name__}")
