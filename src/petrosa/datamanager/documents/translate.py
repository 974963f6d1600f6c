"""A validated filter, sort and resume position as SQL over the documents table."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, false, not_, or_, select, true
from sqlalchemy.sql.functions import coalesce

from petrosa.datamanager.documents.fields import Compare, FieldSql, IdField, JsonField
from petrosa.datamanager.documents.filters import Condition, Op, Scalar
from petrosa.datamanager.documents.jsonsql import JsonDialect, SqlExpr, json_dialect
from petrosa.datamanager.documents.paths import FieldPath
from petrosa.datamanager.documents.query import Position, Query, SortKey
from petrosa.datamanager.documents.values import sort_position

_RANGE: dict[Op, Compare] = {
    Op.GT: operator.gt,
    Op.GTE: operator.ge,
    Op.LT: operator.lt,
    Op.LTE: operator.le,
}


@dataclass(frozen=True)
class PageStatement:
    """A page query and how to read its rows.

    Columns: ``seq``, ``doc_id``, then either ``body`` (``shown`` is None) or one column per
    shown field, then one column per sort field (to build the next cursor).
    """

    statement: Select[Any]
    shown: list[tuple[FieldPath, FieldSql]] | None
    sort_fields: list[FieldSql]


class DocumentSql:
    """Builds WHERE, ORDER BY and keyset clauses over one documents table and dialect."""

    def __init__(self, table: Table, dialect_name: str) -> None:
        self.table = table
        self._json: JsonDialect = json_dialect(dialect_name, table.c.body)

    def field(self, path: FieldPath) -> FieldSql:
        """SQL for one field: ``_id`` reads its column, any other path the JSON body."""
        if path.is_id:
            return IdField(self.table.c.doc_id)
        return JsonField(self._json, path)

    def page(self, collection: str, query: Query) -> PageStatement:
        """One page of ``query``, plus one row to tell whether another page follows."""
        t = self.table
        sort_fields = [self.field(key.path) for key in query.sort]
        shown = None
        if query.projection is not None:
            shown = [(path, self.field(path)) for path in query.projection if not path.is_id]
        columns: list[Any] = [t.c.seq, t.c.doc_id]
        if shown is None:
            columns.append(t.c.body)
        else:
            columns += [field.selected() for _, field in shown]
        columns += [field.selected() for field in sort_fields]
        where = self.where(collection, query.conditions)
        if query.after is not None:
            where = and_(where, self.after(query.sort, query.after))
        statement = (
            select(*columns)
            .where(where)
            .order_by(*self.order_by(query.sort))
            .limit(query.limit + 1)
        )
        return PageStatement(statement, shown, sort_fields)

    def where(self, collection: str, conditions: Sequence[Condition]) -> ColumnElement[bool]:
        """The collection, and every condition (ANDed)."""
        return and_(
            self.table.c.collection == collection,
            *(self.condition(condition) for condition in conditions),
        )

    def condition(self, condition: Condition) -> ColumnElement[bool]:
        field = self.field(condition.path)
        operand = condition.operand
        if condition.op is Op.IN:
            assert isinstance(operand, tuple)
            return _one_of(field, operand)
        assert not isinstance(operand, tuple)
        rank, value = sort_position(operand)
        if condition.op is Op.EQ:
            return field.compare(rank, value, operator.eq)
        if condition.op is Op.NE:
            # A type mismatch makes the equality NULL; NOT NULL would drop the row.
            return not_(coalesce(field.compare(rank, value, operator.eq), false()))
        return field.compare(rank, value, _RANGE[condition.op])

    def order_by(self, sort: Sequence[SortKey]) -> list[SqlExpr]:
        """ORDER BY terms: each sort key's terms, then the insertion sequence as tiebreak."""
        terms: list[SqlExpr] = []
        for key in sort:
            for term in self.field(key.path).order_terms():
                terms.append(term.desc() if key.descending else term.asc())
        seq = self.table.c.seq
        terms.append(seq.desc() if _seq_descending(sort) else seq.asc())
        return terms

    def after(self, sort: Sequence[SortKey], position: Position) -> ColumnElement[bool]:
        """Rows strictly after ``position`` in the sort order (the keyset condition).

        ``(k1, k2, seq) > (v1, v2, s)`` written out as
        ``k1 > v1 OR (k1 = v1 AND k2 > v2) OR (k1 = v1 AND k2 = v2 AND seq > s)``,
        each ``>`` meaning "later in that key's direction".
        """
        branches: list[ColumnElement[bool]] = []
        level: list[ColumnElement[bool]] = []
        for key, key_position in zip(sort, position.sort, strict=True):
            field = self.field(key.path)
            branches.append(and_(true(), *level, field.after(key_position, key.descending)))
            level.append(field.same(key_position))
        seq = self.table.c.seq
        past_seq = seq < position.seq if _seq_descending(sort) else seq > position.seq
        branches.append(and_(true(), *level, past_seq))
        return or_(*branches)


def _seq_descending(sort: Sequence[SortKey]) -> bool:
    """Ties break in the direction of the last sort key (insertion order when unsorted)."""
    return bool(sort) and sort[-1].descending


def _one_of(field: FieldSql, values: tuple[Scalar, ...]) -> ColumnElement[bool]:
    positions = sorted((sort_position(value) for value in values), key=lambda p: p[0])
    tests = [
        field.one_of(rank, [value for _, value in group])
        for rank, group in groupby(positions, key=lambda p: p[0])
    ]
    return or_(false(), *tests)
