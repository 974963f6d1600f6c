"""JSON values of documents: validation, identity, canonical form and sort position.

The engines differ at the edges of JSON (NaN, integers past 64 bits, deep nesting, keys
with dots), so documents are held to the common ground before anything is stored.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from petrosa.contracts.documents import ID_FIELD, MAX_DOCUMENT_ID_LENGTH, Document
from petrosa.datamanager.documents.paths import MAX_NESTING, FieldPath, Loc
from petrosa.datamanager.errors import InvalidInput

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_EXACT_FLOAT_INT = 2**53

# Sort ranks, the same in SQL and Python: null/missing < numbers < strings < booleans <
# objects and arrays (which do not order among themselves).
RANK_NULL, RANK_NUMBER, RANK_STRING, RANK_BOOL, RANK_CONTAINER = range(5)
RANKS_WITH_VALUES = (RANK_NUMBER, RANK_STRING, RANK_BOOL)

SortPosition = tuple[int, Any]
"""(rank, value) of a field: the value is None for ranks that do not order by value."""


def check_number(value: int | float, loc: Loc) -> None:
    """Numbers must be finite, and integers must fit 64 bits, to mean the same everywhere."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(loc, "numbers must be finite (no NaN or Infinity)")
    elif not INT64_MIN <= value <= INT64_MAX:
        raise InvalidInput(loc, "integers must fit in 64 bits")


def check_value(value: Any, loc: Loc, depth: int = 0) -> None:
    """Validate a JSON value to be stored; a problem is a 422 naming its field."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int | float):
        check_number(value, loc)
        return
    if depth >= MAX_NESTING:
        raise InvalidInput(loc, f"documents may nest objects and arrays {MAX_NESTING} deep")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or key.startswith("$") or "." in key:
                raise InvalidInput(
                    [*loc, str(key)], "field names must not start with '$' or contain '.'"
                )
            check_value(item, [*loc, key], depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_value(item, [*loc, index], depth + 1)
    else:
        raise InvalidInput(loc, f"not a JSON value: {type(value).__name__}")


@dataclass(frozen=True)
class NewDocument:
    """A validated document to store: its ``_id``, its body without ``_id``, and its loc."""

    doc_id: str
    body: Document
    loc: tuple[str | int, ...]


def new_document(document: Document, loc: Loc) -> NewDocument:
    """Validate a document; its ``_id`` is generated when absent."""
    body = dict(document)
    raw_id = body.pop(ID_FIELD, None)
    if raw_id is None:
        doc_id = new_id()
    elif not isinstance(raw_id, str) or not 1 <= len(raw_id) <= MAX_DOCUMENT_ID_LENGTH:
        raise InvalidInput(
            [*loc, ID_FIELD],
            f"{ID_FIELD} must be a string of 1 to {MAX_DOCUMENT_ID_LENGTH} characters",
        )
    else:
        doc_id = raw_id
    check_value(body, loc)
    return NewDocument(doc_id, body, tuple(loc))


def new_id() -> str:
    """A fresh random ``_id``."""
    return uuid.uuid4().hex


MISSING = object()
"""What :func:`value_at` returns for a field the document does not have."""


def value_at(body: Document, path: FieldPath) -> Any:
    """The value at ``path``, or :data:`MISSING`."""
    node: Any = body
    for part in path.parts:
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def canonical_json(value: Any) -> bytes:
    """One spelling per value: sorted keys, and integral floats written as integers."""
    return orjson.dumps(_canonical(value), option=orjson.OPT_SORT_KEYS)


def _canonical(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) <= _EXACT_FLOAT_INT:
        return int(value)
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return value


def unique_hash(body: Document, key: Sequence[FieldPath], loc: Loc) -> str:
    """Hash of the unique-key values; 1 and 1.0 are the same key, as they compare equal."""
    values = []
    for path in key:
        value = value_at(body, path)
        if value is MISSING:
            raise InvalidInput(loc, f"the collection's unique key needs field {str(path)!r}")
        values.append(value)
    return hashlib.sha256(canonical_json(values)).hexdigest()


def sort_position(value: Any) -> SortPosition:
    """The (rank, value) by which SQL orders a field holding ``value`` (or MISSING)."""
    if value is MISSING or value is None:
        return RANK_NULL, None
    if isinstance(value, bool):
        return RANK_BOOL, int(value)
    if isinstance(value, int | float):
        return RANK_NUMBER, value
    if isinstance(value, str):
        return RANK_STRING, value
    return RANK_CONTAINER, None
