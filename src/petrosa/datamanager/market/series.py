"""A keyed time series stored in one table: the shape klines, trades and funding share.

Writes are bulk upserts of tuples through one prepared statement per dialect; reads are
keyset-paginated range queries pushed down to the database.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Table, and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from petrosa.contracts.market import WriteResult
from petrosa.datamanager.errors import InvalidInput
from petrosa.datamanager.json_rules import INT64_MAX
from petrosa.datamanager.market.sqlite_upsert import PreparedSeriesUpsert, SeriesUpsert
from petrosa.datamanager.storage.database import Database
from petrosa.datamanager.storage.statements import PreparedStatement, prepare_upsert

Order = Literal["asc", "desc"]
DENSE_KEY_FACTOR = 2
"""Count existing keys with one range scan when the batch spans at most this many times its
size in key steps; sparser batches use an IN list instead."""


def _dense(keys: list[int], key_step: int) -> bool:
    """Whether the sorted ``keys`` span at most ``DENSE_KEY_FACTOR`` times their count in steps."""
    span_steps = (keys[-1] - keys[0]) // max(key_step, 1) + 1
    return span_steps <= DENSE_KEY_FACTOR * len(keys)


@dataclass(frozen=True)
class SeriesSpec:
    table: Table
    partition: tuple[str, ...]
    """Columns fixed for one series, e.g. ("symbol", "interval")."""
    key: str
    """The natural key within the series and the column reads are ordered by."""
    time_column: str
    """The column ``start``/``end`` filter on (epoch ms)."""
    value_columns: tuple[str, ...]
    plain_sqlite_reads: bool = False
    """Every column is a number, so rows from a plain sqlite3 read need no conversion."""

    @property
    def row_columns(self) -> tuple[str, ...]:
        return (self.key, *self.value_columns)


@dataclass(frozen=True)
class Page:
    rows: list[tuple[Any, ...]]
    next_cursor: str | None


def encode_cursor(order: Order, key: int) -> str:
    return base64.urlsafe_b64encode(f"{order}:{key}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str, order: Order) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        cursor_order, _, key = base64.urlsafe_b64decode(padded).decode().partition(":")
        position = int(key)
        if cursor_order != order or not 0 <= position <= INT64_MAX:
            raise ValueError
        return position
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(["query", "cursor"], "not a cursor from this listing") from None


class SeriesStore:
    """Bulk idempotent writes and pushed-down reads for one :class:`SeriesSpec`."""

    def __init__(self, db: Database, spec: SeriesSpec) -> None:
        self.db = db
        self.spec = spec
        self._upsert: PreparedStatement | None = None
        self._sqlite_upsert: PreparedSeriesUpsert | None = None
        self._sqlite_reads: dict[tuple[bool, bool, bool, Order], str] = {}

    def _prepared_upsert(self) -> PreparedStatement:
        if self._upsert is None:
            self._upsert = prepare_upsert(
                self.spec.table,
                self.db.write_engine.dialect,
                key_columns=[*self.spec.partition, self.spec.key],
                update_columns=list(self.spec.value_columns),
            )
        return self._upsert

    async def write(
        self, partition: Sequence[Any], rows: Sequence[tuple[Any, ...]], *, key_step: int = 1
    ) -> WriteResult:
        """Upsert ``rows`` (tuples in ``row_columns`` order) into one series, in one transaction.

        Repeated keys inside the batch collapse to their last occurrence. ``key_step`` is the
        typical distance between consecutive keys (the interval for klines), used to pick how
        existing rows are counted.
        """
        received = len(rows)
        by_key = {row[0]: row for row in rows}
        if not by_key:
            return WriteResult(received=0, inserted=0, updated=0)
        keys = sorted(by_key)  # one lock order for every writer: fewer deadlocks
        if self.db.is_sqlite:
            existing = await self._write_sqlite(partition, by_key, keys, key_step)
        else:
            existing = await self._write_core(partition, by_key, keys, key_step)
        return WriteResult(received=received, inserted=len(keys) - existing, updated=existing)

    async def _write_sqlite(
        self,
        partition: Sequence[Any],
        by_key: dict[int, tuple[Any, ...]],
        keys: list[int],
        key_step: int,
    ) -> int:
        """The count and the upsert as one transaction on the SQLite writer thread."""
        if self._sqlite_upsert is None:
            spec = self.spec
            shape = SeriesUpsert(spec.table.name, spec.partition, spec.row_columns)
            self._sqlite_upsert = PreparedSeriesUpsert.of(shape)
        upsert = self._sqlite_upsert
        rows = [by_key[k] for k in keys]
        dense = _dense(keys, key_step)
        return await self.db.sqlite_transaction(
            lambda conn: upsert.run(conn, partition, rows, keys, dense=dense)
        )

    async def _write_core(
        self,
        partition: Sequence[Any],
        by_key: dict[int, tuple[Any, ...]],
        keys: list[int],
        key_step: int,
    ) -> int:
        """The count through SQLAlchemy, then one ``executemany`` of the prepared upsert."""
        statement = self._prepared_upsert()
        names = self.spec.row_columns
        fixed = dict(zip(self.spec.partition, partition, strict=True))
        positions = [
            ("fixed", fixed[c]) if c in fixed else ("row", names.index(c))
            for c in statement.columns
        ]
        if statement.columns == (*self.spec.partition, *names):  # the usual layout: no shuffle
            prefix = tuple(partition)
            params = [prefix + by_key[k] for k in keys]
        else:
            params = [
                tuple(value if kind == "fixed" else by_key[k][value] for kind, value in positions)
                for k in keys
            ]

        async def upsert(conn: AsyncConnection) -> int:
            existing = await self._count_existing(conn, partition, keys, key_step)
            await conn.exec_driver_sql(statement.sql, params)
            return existing

        return await self.db.transaction(upsert)

    async def _count_existing(
        self, conn: AsyncConnection, partition: Sequence[Any], keys: list[int], key_step: int
    ) -> int:
        key_col = self.spec.table.c[self.spec.key]
        where = self._partition_clause(partition)
        if _dense(keys, key_step):
            query = select(key_col).where(where, key_col.between(keys[0], keys[-1]))
            present = {row[0] for row in await conn.execute(query)}
            return len(present.intersection(keys))
        query = select(func.count()).where(where, key_col.in_(bindparam("keys", expanding=True)))
        result = await conn.execute(query, {"keys": keys})
        return int(result.scalar_one())

    def _partition_clause(self, partition: Sequence[Any]) -> Any:
        table = self.spec.table
        return and_(*(table.c[c] == v for c, v in zip(self.spec.partition, partition, strict=True)))

    async def read(
        self,
        partition: Sequence[Any],
        *,
        limit: int,
        start: int | None = None,
        end: int | None = None,
        order: Order = "desc",
        cursor: str | None = None,
    ) -> Page:
        """One page of rows (``row_columns`` order), newest first unless ``order="asc"``."""
        after = None if cursor is None else decode_cursor(cursor, order)
        if self.db.sqlite_reader is not None and self.spec.plain_sqlite_reads:
            rows = await self._read_sqlite(partition, limit, start, end, after, order)
        else:
            rows = await self._read_core(partition, limit, start, end, after, order)
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_cursor(order, int(rows[-1][0]))
        return Page(rows=rows, next_cursor=next_cursor)

    async def _read_sqlite(
        self,
        partition: Sequence[Any],
        limit: int,
        start: int | None,
        end: int | None,
        after: int | None,
        order: Order,
    ) -> list[tuple[Any, ...]]:
        shape = (start is not None, end is not None, after is not None, order)
        sql = self._sqlite_reads.get(shape)
        if sql is None:
            sql = self._sqlite_reads[shape] = self._sqlite_sql(*shape)
        bounds = [value for value in (start, end, after) if value is not None]
        params = (*partition, *bounds, limit + 1)
        return await self.db.fetch_sqlite(sql, params, rows=limit + 1)

    def _sqlite_sql(self, has_start: bool, has_end: bool, has_after: bool, order: Order) -> str:
        spec = self.spec
        where = [f'"{column}" = ?' for column in spec.partition]
        if has_start:
            where.append(f'"{spec.time_column}" >= ?')
        if has_end:
            where.append(f'"{spec.time_column}" < ?')
        if has_after:
            where.append(f'"{spec.key}" {"<" if order == "desc" else ">"} ?')
        columns = ", ".join(f'"{column}"' for column in spec.row_columns)
        return (
            f'SELECT {columns} FROM "{spec.table.name}" WHERE {" AND ".join(where)} '
            f'ORDER BY "{spec.key}" {order.upper()} LIMIT ?'
        )

    async def _read_core(
        self,
        partition: Sequence[Any],
        limit: int,
        start: int | None,
        end: int | None,
        after: int | None,
        order: Order,
    ) -> list[tuple[Any, ...]]:
        table = self.spec.table
        key_col = table.c[self.spec.key]
        time_col = table.c[self.spec.time_column]
        conditions = [self._partition_clause(partition)]
        if start is not None:
            conditions.append(time_col >= start)
        if end is not None:
            conditions.append(time_col < end)
        if after is not None:
            conditions.append(key_col < after if order == "desc" else key_col > after)
        query = (
            select(*(table.c[c] for c in self.spec.row_columns))
            .where(*conditions)
            .order_by(key_col.desc() if order == "desc" else key_col.asc())
            .limit(limit + 1)
        )
        async with self.db.read() as conn:
            return [tuple(row) for row in await conn.execute(query)]
