"""A validated query: filter, sort, page size, projection and resume position."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from petrosa.datamanager.documents.filters import Condition, parse_filter
from petrosa.datamanager.documents.paths import FieldPath, Loc, parse_path, parse_path_list
from petrosa.datamanager.documents.values import (
    RANK_BOOL,
    RANK_CONTAINER,
    RANK_NULL,
    RANK_NUMBER,
    RANK_STRING,
    SortPosition,
    canonical_json,
)
from petrosa.datamanager.errors import InvalidInput
from petrosa.datamanager.json_rules import INT64_MAX, check_operand

MAX_SORT_FIELDS = 8
MAX_PROJECTION_FIELDS = 64
_CURSOR_VERSION = 1


@dataclass(frozen=True)
class SortKey:
    path: FieldPath
    descending: bool


@dataclass(frozen=True)
class Position:
    """Where a page ended: the last document's sort positions and its insertion sequence."""

    sort: tuple[SortPosition, ...]
    seq: int


@dataclass(frozen=True)
class Query:
    conditions: tuple[Condition, ...]
    sort: tuple[SortKey, ...]
    limit: int
    projection: tuple[FieldPath, ...] | None
    after: Position | None
    fingerprint: str
    """Identifies the collection, filter and sort, so a cursor only resumes its own query."""

    def cursor_after(self, position: Position) -> str:
        """The opaque token that resumes this query after ``position``."""
        payload = {
            "v": _CURSOR_VERSION,
            "q": self.fingerprint,
            "k": position.sort,
            "s": position.seq,
        }
        return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def parse_query(
    collection: str,
    *,
    filter: Mapping[str, Any],
    sort: Sequence[tuple[str, int]] | None,
    limit: int,
    projection: Sequence[str] | None,
    cursor: str | None,
) -> Query:
    """Validate every part of a query request (locs are under ``body``)."""
    conditions = parse_filter(filter, ["body", "filter"])
    sort_keys = _parse_sort(sort or [], ["body", "sort"])
    paths = None
    if projection is not None:
        paths = parse_path_list(projection, ["body", "projection"], max_paths=MAX_PROJECTION_FIELDS)
    fingerprint = hashlib.sha256(
        canonical_json([collection, filter, [[str(k.path), k.descending] for k in sort_keys]])
    ).hexdigest()[:24]
    after = None if cursor is None else _decode_cursor(cursor, fingerprint, len(sort_keys))
    return Query(conditions, sort_keys, limit, _minimal(paths), after, fingerprint)


def _parse_sort(raw: Sequence[tuple[str, int]], loc: Loc) -> tuple[SortKey, ...]:
    if len(raw) > MAX_SORT_FIELDS:
        raise InvalidInput(loc, f"sort by at most {MAX_SORT_FIELDS} fields")
    keys: list[SortKey] = []
    for index, (text, direction) in enumerate(raw):
        path = parse_path(text, [*loc, index, 0])
        if any(key.path == path for key in keys):
            raise InvalidInput([*loc, index, 0], f"sorting by {text!r} twice")
        keys.append(SortKey(path, descending=direction == -1))
    return tuple(keys)


def _minimal(paths: tuple[FieldPath, ...] | None) -> tuple[FieldPath, ...] | None:
    """Drop paths inside another projected path (``a.b`` when ``a`` is projected)."""
    if paths is None:
        return None
    return tuple(
        path
        for path in paths
        if not any(other != path and path.startswith(other) for other in paths)
    )


def _decode_cursor(token: str, fingerprint: str, sort_fields: int) -> Position:
    loc = ["body", "cursor"]
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise InvalidInput(loc, "not a cursor issued by this service") from None
    if not isinstance(payload, dict) or payload.get("v") != _CURSOR_VERSION:
        raise InvalidInput(loc, "not a cursor issued by this service")
    if payload.get("q") != fingerprint:
        raise InvalidInput(loc, "this cursor belongs to another query (collection, filter or sort)")
    seq, raw_positions = payload.get("s"), payload.get("k")
    if (
        not isinstance(seq, int)
        or not 0 <= seq <= INT64_MAX
        or not isinstance(raw_positions, list)
        or len(raw_positions) != sort_fields
        or not all(_valid_position(item) for item in raw_positions)
    ):
        raise InvalidInput(loc, "not a cursor issued by this service")
    return Position(tuple((rank, value) for rank, value in raw_positions), seq)


def _valid_position(item: Any) -> bool:
    if not isinstance(item, list) or len(item) != 2:
        return False
    rank, value = item
    try:
        check_operand(value, [])  # a forged cursor must not carry what no filter may
    except InvalidInput:
        return False
    if isinstance(rank, bool) or not isinstance(rank, int):
        return False
    if rank in (RANK_NULL, RANK_CONTAINER):
        return value is None
    if rank == RANK_NUMBER:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if rank == RANK_STRING:
        return isinstance(value, str)
    if rank == RANK_BOOL:
        return value in (0, 1) and not isinstance(value, bool)
    return False
