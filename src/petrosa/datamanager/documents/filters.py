"""Query filters: ``{"field": value}`` and ``{"field": {"$op": value}}``, validated.

The parsed form is a flat tuple of :class:`Condition` (all ANDed) that
``translate.py`` turns into SQL; nothing here looks at stored documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from petrosa.datamanager.documents.paths import FieldPath, Loc, parse_path
from petrosa.datamanager.errors import InvalidInput
from petrosa.datamanager.json_rules import check_operand

MAX_FILTER_CONDITIONS = 64
MAX_IN_VALUES = 1_000

Scalar = str | int | float | bool | None
"""What a field can be compared with: JSON's scalars."""


class Op(StrEnum):
    EQ = "$eq"
    NE = "$ne"
    GT = "$gt"
    GTE = "$gte"
    LT = "$lt"
    LTE = "$lte"
    IN = "$in"


RANGE_OPS = frozenset({Op.GT, Op.GTE, Op.LT, Op.LTE})


@dataclass(frozen=True)
class Condition:
    """One test of one field. ``operand`` is a tuple of scalars for ``$in``."""

    path: FieldPath
    op: Op
    operand: Scalar | tuple[Scalar, ...]


def parse_filter(raw: Mapping[str, Any], loc: Loc) -> tuple[Condition, ...]:
    """Validate a filter; every problem is a 422 naming the field and operator."""
    conditions: list[Condition] = []
    for text, spec in raw.items():
        field_loc = [*loc, text]
        if text.startswith("$"):
            raise InvalidInput(field_loc, f"unknown top-level operator {text!r}")
        path = parse_path(text, field_loc)
        if isinstance(spec, Mapping):
            conditions.extend(_parse_operators(path, spec, field_loc))
        else:
            conditions.append(Condition(path, Op.EQ, _scalar(spec, field_loc)))
        if len(conditions) > MAX_FILTER_CONDITIONS:
            raise InvalidInput(loc, f"a filter holds at most {MAX_FILTER_CONDITIONS} conditions")
    return tuple(conditions)


def _parse_operators(path: FieldPath, spec: Mapping[str, Any], loc: Loc) -> list[Condition]:
    if not spec:
        raise InvalidInput(loc, "an empty object matches nothing useful: give a value or operators")
    conditions = []
    for name, operand in spec.items():
        op_loc = [*loc, name]
        if not name.startswith("$"):
            raise InvalidInput(
                op_loc,
                "objects are not compared whole: use a dotted path ('a.b') or an operator",
            )
        try:
            op = Op(name)
        except ValueError:
            known = ", ".join(op.value for op in Op)
            raise InvalidInput(op_loc, f"unknown operator {name!r}; known: {known}") from None
        conditions.append(Condition(path, op, _operand(op, operand, op_loc)))
    return conditions


def _operand(op: Op, value: Any, loc: Loc) -> Scalar | tuple[Scalar, ...]:
    if op is Op.IN:
        if not isinstance(value, list):
            raise InvalidInput(loc, "$in takes a list of values")
        if len(value) > MAX_IN_VALUES:
            raise InvalidInput(loc, f"$in takes at most {MAX_IN_VALUES} values")
        return tuple(_scalar(item, [*loc, index]) for index, item in enumerate(value))
    scalar = _scalar(value, loc)
    if op in RANGE_OPS and (scalar is None or isinstance(scalar, bool)):
        raise InvalidInput(loc, f"{op.value} compares numbers or strings")
    return scalar


def _scalar(value: Any, loc: Loc) -> Scalar:
    if value is None or isinstance(value, str | int | float):
        check_operand(value, loc)
        return value
    kind = "an array" if isinstance(value, list) else "an object"
    raise InvalidInput(
        loc, f"cannot compare with {kind}: compare scalar fields with dotted paths ('a.b')"
    )


def equality_fields(conditions: tuple[Condition, ...]) -> list[tuple[FieldPath, Scalar]]:
    """The ``field == value`` parts of a filter: what an upsert copies into a new document."""
    return [
        (condition.path, condition.operand)
        for condition in conditions
        if condition.op is Op.EQ and not isinstance(condition.operand, tuple)
    ]
