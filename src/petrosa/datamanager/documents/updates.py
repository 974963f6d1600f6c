"""Update specifications (``$set``, ``$inc``) and their application to one document.

Applying an update is pure: it returns a new body, or raises a 422 naming the operator
and field (e.g. ``$inc`` on a string). The store compares the result with the stored
body to report ``modified`` truthfully.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from petrosa.contracts.documents import ID_FIELD, MAX_DOCUMENT_ID_LENGTH, Document
from petrosa.datamanager.documents.filters import Scalar
from petrosa.datamanager.documents.paths import FieldPath, Loc, parse_path
from petrosa.datamanager.documents.values import MISSING, check_value, value_at
from petrosa.datamanager.errors import InvalidInput
from petrosa.datamanager.json_rules import check_number

MAX_UPDATE_FIELDS = 256
SET, INC = "$set", "$inc"


@dataclass(frozen=True)
class Update:
    """A validated update: fields to set and fields to increment (paths never overlap)."""

    set: tuple[tuple[FieldPath, Any], ...]
    inc: tuple[tuple[FieldPath, int | float], ...]


def parse_update(raw: Mapping[str, Any], loc: Loc) -> Update:
    """Validate ``{"$set": {...}, "$inc": {...}}``; at least one field must be named."""
    unknown = [name for name in raw if name not in (SET, INC)]
    if unknown:
        name = unknown[0]
        raise InvalidInput([*loc, name], f"unknown update operator {name!r}; known: $set, $inc")
    set_fields = _fields(raw.get(SET, {}), [*loc, SET])
    inc_fields = _fields(raw.get(INC, {}), [*loc, INC])
    if not set_fields and not inc_fields:
        raise InvalidInput(loc, "an update needs $set or $inc with at least one field")
    if len(set_fields) + len(inc_fields) > MAX_UPDATE_FIELDS:
        raise InvalidInput(loc, f"an update names at most {MAX_UPDATE_FIELDS} fields")
    sets = []
    for path, value, field_loc in set_fields:
        check_value(value, field_loc, depth=len(path.parts))
        sets.append((path, value))
    incs: list[tuple[FieldPath, int | float]] = []
    for path, value, field_loc in inc_fields:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(field_loc, "$inc takes a number")
        check_number(value, field_loc)
        incs.append((path, value))
    _check_disjoint([(path, field_loc) for path, _, field_loc in set_fields + inc_fields])
    return Update(set=tuple(sets), inc=tuple(incs))


def _fields(raw: Any, loc: Loc) -> list[tuple[FieldPath, Any, list[str | int]]]:
    if not isinstance(raw, Mapping):
        raise InvalidInput(loc, "takes an object of field paths")
    fields = []
    for text, value in raw.items():
        field_loc = [*loc, text]
        path = parse_path(text, field_loc)
        if path.is_id:
            raise InvalidInput(field_loc, f"{ID_FIELD} cannot be changed")
        fields.append((path, value, field_loc))
    return fields


def _check_disjoint(fields: list[tuple[FieldPath, list[str | int]]]) -> None:
    for index, (path, loc) in enumerate(fields):
        for other, _ in fields[:index]:
            if path.startswith(other) or other.startswith(path):
                raise InvalidInput(loc, f"{path} overlaps {other}, also updated")


def apply_update(body: Document, update: Update, loc: Loc) -> Document:
    """The body after the update; the input is left untouched."""
    result = copy.deepcopy(body)
    for path, value in update.set:
        _put(result, path, copy.deepcopy(value), [*loc, SET, str(path)])
    for path, amount in update.inc:
        field_loc = [*loc, INC, str(path)]
        current = value_at(result, path)
        if current is MISSING:
            _put(result, path, amount, field_loc)
            continue
        if isinstance(current, bool) or not isinstance(current, int | float):
            raise InvalidInput(field_loc, f"cannot increment {path}: it holds {_describe(current)}")
        total = current + amount
        check_number(total, field_loc)
        _put(result, path, total, field_loc)
    check_value(result, loc)  # the parts were valid; the whole must still fit the size limit
    return result


def upsert_body(
    equalities: list[tuple[FieldPath, Scalar]],
    update: Update,
    *,
    filter_loc: Loc,
    update_loc: Loc,
) -> tuple[str | None, Document]:
    """The document an upsert inserts: the filter's equalities, then the update applied.

    Returns the ``_id`` the filter names (None when it names none) and the body.
    """
    doc_id: str | None = None
    body: Document = {}
    for path, value in equalities:
        field_loc = [*filter_loc, str(path)]
        if path.is_id:
            if not isinstance(value, str) or not 1 <= len(value) <= MAX_DOCUMENT_ID_LENGTH:
                raise InvalidInput(field_loc, f"an upserted {ID_FIELD} must be a valid id string")
            doc_id = value
        else:
            _put(body, path, value, field_loc)
    return doc_id, apply_update(body, update, update_loc)


def _put(body: Document, path: FieldPath, value: Any, loc: Loc) -> None:
    node = body
    for depth, part in enumerate(path.parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            parent = ".".join(path.parts[: depth + 1])
            raise InvalidInput(loc, f"cannot set {path}: {parent} holds {_describe(child)}")
        node = child
    node[path.parts[-1]] = value


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a number"
