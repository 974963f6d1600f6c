"""One field of a document as SQL: type-aware tests, sort terms and keyset bounds.

Comparisons are type-aware, as in MongoDB: a number operand matches only numbers, a
string only strings, a boolean only booleans, and ``null`` matches null or missing.
Every typed value is wrapped in ``CASE WHEN <type matches> THEN <value> END``, so an
engine never casts a value of another type (PostgreSQL would raise) and a mismatch is
SQL NULL, which no comparison accepts.

Sorting orders by rank first (null/missing, numbers, strings, booleans, containers), then
by the typed value of that rank; within a rank the other typed values are all NULL, so
they never disturb the order.
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import ColumnElement, case, false, literal, literal_column, or_

from petrosa.datamanager.documents.jsonsql import JsonDialect, SqlExpr
from petrosa.datamanager.documents.paths import FieldPath
from petrosa.datamanager.documents.values import (
    MISSING,
    RANK_BOOL,
    RANK_CONTAINER,
    RANK_NULL,
    RANK_NUMBER,
    RANK_STRING,
    RANKS_WITH_VALUES,
    SortPosition,
)

Compare = Callable[[Any, Any], Any]


class FieldSql(ABC):
    """SQL for one field path."""

    @abstractmethod
    def is_null(self) -> ColumnElement[bool]:
        """True when the field is JSON null or missing."""

    @abstractmethod
    def typed(self, rank: int) -> SqlExpr | None:
        """The value as SQL when the field holds that rank's type, else SQL NULL.

        None when the field can never hold that type (``_id`` is always a string).
        """

    @abstractmethod
    def operand(self, rank: int, value: Any) -> SqlExpr:
        """``value`` bound so that it compares with :meth:`typed` of the same rank."""

    @abstractmethod
    def order_terms(self) -> list[SqlExpr]:
        """ORDER BY terms, ascending."""

    @abstractmethod
    def after(self, position: SortPosition, descending: bool) -> ColumnElement[bool]:
        """True when the field sorts strictly after ``position`` in the given direction."""

    @abstractmethod
    def same(self, position: SortPosition) -> ColumnElement[bool]:
        """True when the field sorts level with ``position``."""

    @abstractmethod
    def selected(self) -> SqlExpr:
        """What to SELECT to read the value back (see :meth:`decode`)."""

    @abstractmethod
    def decode(self, raw: Any) -> Any:
        """The Python value of a :meth:`selected` column, or MISSING."""

    def compare(self, rank: int, value: Any, compare: Compare) -> ColumnElement[bool]:
        """``field <compare> value`` for a value of the given rank (never true across types)."""
        if rank == RANK_NULL:
            return self.is_null() if compare is operator.eq else false()
        typed = self.typed(rank)
        if typed is None:
            return false()
        result: ColumnElement[bool] = compare(typed, self.operand(rank, value))
        return result

    def one_of(self, rank: int, values: list[Any]) -> ColumnElement[bool]:
        """The field equals one of ``values``, all of the given rank."""
        if rank == RANK_NULL:
            return self.is_null()
        typed = self.typed(rank)
        if typed is None:
            return false()
        return typed.in_([self.operand(rank, value) for value in values])


class JsonField(FieldSql):
    """A field inside the JSON body."""

    def __init__(self, dialect: JsonDialect, path: FieldPath) -> None:
        self._dialect = dialect
        self._path = path

    def _type_in(self, names: tuple[str, ...]) -> ColumnElement[bool]:
        type_name = self._dialect.type_name(self._path)
        return type_name.in_([literal_column(f"'{name}'") for name in names])

    def is_null(self) -> ColumnElement[bool]:
        type_name = self._dialect.type_name(self._path)
        return or_(type_name.is_(None), self._type_in(self._dialect.null_types))

    def rank(self) -> SqlExpr:
        """0 null/missing, 1 number, 2 string, 3 boolean, 4 object or array."""
        d = self._dialect
        return case(
            (self.is_null(), literal_column(str(RANK_NULL))),
            (self._type_in(d.number_types), literal_column(str(RANK_NUMBER))),
            (self._type_in(d.string_types), literal_column(str(RANK_STRING))),
            (self._type_in(d.bool_types), literal_column(str(RANK_BOOL))),
            else_=literal_column(str(RANK_CONTAINER)),
        )

    def typed(self, rank: int) -> SqlExpr | None:
        d = self._dialect
        if rank == RANK_NUMBER:
            return case((self._type_in(d.number_types), d.number(self._path)))
        if rank == RANK_STRING:
            return case((self._type_in(d.string_types), d.string(self._path)))
        if rank == RANK_BOOL:
            return case((self._type_in(d.bool_types), d.boolean(self._path)))
        return None

    def operand(self, rank: int, value: Any) -> SqlExpr:
        if rank == RANK_NUMBER:
            return self._dialect.number_operand(value)
        if rank == RANK_STRING:
            return self._dialect.string_operand(value)
        return literal(int(value))

    def order_terms(self) -> list[SqlExpr]:
        terms = [self.rank()]
        for rank in RANKS_WITH_VALUES:
            typed = self.typed(rank)
            if typed is not None:
                terms.append(typed)
        return terms

    def after(self, position: SortPosition, descending: bool) -> ColumnElement[bool]:
        rank, value = position
        beyond: Compare = operator.lt if descending else operator.gt
        past_rank: ColumnElement[bool] = beyond(self.rank(), literal(rank))
        if rank not in RANKS_WITH_VALUES:
            return past_rank
        # typed(rank) is NULL outside the rank, so this also implies rank == position's.
        return or_(past_rank, self.compare(rank, value, beyond))

    def same(self, position: SortPosition) -> ColumnElement[bool]:
        rank, value = position
        if rank not in RANKS_WITH_VALUES:
            return self.rank() == literal(rank)
        return self.compare(rank, value, operator.eq)

    def selected(self) -> SqlExpr:
        return self._dialect.raw(self._path)

    def decode(self, raw: Any) -> Any:
        return MISSING if raw is None else orjson.loads(raw)


class IdField(FieldSql):
    """``_id``: a string in its own indexed column."""

    def __init__(self, column: SqlExpr) -> None:
        self._column = column

    def is_null(self) -> ColumnElement[bool]:
        return false()

    def typed(self, rank: int) -> SqlExpr | None:
        return self._column if rank == RANK_STRING else None

    def operand(self, rank: int, value: Any) -> SqlExpr:
        return literal(value, self._column.type)

    def order_terms(self) -> list[SqlExpr]:
        return [self._column]

    def after(self, position: SortPosition, descending: bool) -> ColumnElement[bool]:
        rank, value = position
        if rank != RANK_STRING:
            return false()  # not a position this field can hold: a foreign cursor
        return self.compare(rank, value, operator.lt if descending else operator.gt)

    def same(self, position: SortPosition) -> ColumnElement[bool]:
        rank, value = position
        return self.compare(rank, value, operator.eq) if rank == RANK_STRING else false()

    def selected(self) -> SqlExpr:
        return self._column

    def decode(self, raw: Any) -> Any:
        return raw
