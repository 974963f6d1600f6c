"""JSON values of documents: validation, identity, canonical form and sort position.

The engines differ at the edges of JSON (NaN, numbers past 64 bits, deep nesting, NUL,
lone surrogates, keys with dots), so documents are held to the common ground
(``json_rules``) before anything is stored.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from petrosa.contracts.documents import ID_FIELD, MAX_DOCUMENT_ID_LENGTH, Document
from petrosa.datamanager.documents.paths import FieldPath, Loc
from petrosa.datamanager.errors import InvalidInput
from petrosa.datamanager.json_rules import check_json, check_text

_EXACT_FLOAT_INT = 2**53
MAX_DOCUMENT_BYTES = 1_048_576
"""Largest document body (compact UTF-8 JSON); it fits the 2 MiB documents body limit."""
"""Largest document body, as compact UTF-8 JSON."""

# Sort ranks, the same in SQL and Python: null/missing < numbers < strings < booleans <
# objects and arrays (which do not order among themselves).
RANK_NULL, RANK_NUMBER, RANK_STRING, RANK_BOOL, RANK_CONTAINER = range(5)
RANKS_WITH_VALUES = (RANK_NUMBER, RANK_STRING, RANK_BOOL)

SortPosition = tuple[int, Any]
"""(rank, value) of a field: the value is None for ranks that do not order by value."""


def _document_key_problem(key: str) -> str | None:
    if key.startswith("$") or "." in key:
        return "field names must not start with '$' or contain '.'"
    return None


def check_value(value: Any, loc: Loc, depth: int = 0) -> None:
    """Validate a JSON value to be stored in a document (see ``json_rules``): 422 at its path."""
    check_json(
        value, loc, max_bytes=MAX_DOCUMENT_BYTES, depth=depth, key_rule=_document_key_problem
    )


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
        check_text(raw_id, [*loc, ID_FIELD])
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
