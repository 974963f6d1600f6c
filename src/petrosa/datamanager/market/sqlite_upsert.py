"""A series' bulk upsert on SQLite: the statements, and the work run on the writer thread.

Rows go in ``ROWS_PER_STATEMENT`` at a time as one multi-row ``VALUES`` whose series columns
(market, symbol, …) are bound once per statement, not once per row: against the driver's
``executemany`` of one-row inserts this is about a third less SQLite work per batch
(docs/benchmarks.md). Rows that are already stored with the same values are left alone
(``DO UPDATE … WHERE`` a value differs), so a re-sent batch writes no pages.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

ROWS_PER_STATEMENT = 100
"""Rows per multi-row statement: as fast as larger ones, and well under SQLite's limit of
bound parameters (32,766) for any series."""


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class SeriesUpsert:
    """The SQL for one series table: ``partition`` columns fixed per write, then ``row_columns``
    (the key first) per row."""

    table: str
    partition: tuple[str, ...]
    row_columns: tuple[str, ...]

    def values_sql(self, rows: int) -> str:
        """Upsert ``rows`` rows: the partition's parameters, then each row's."""
        table = _quoted(self.table)
        columns = ", ".join(_quoted(c) for c in (*self.partition, *self.row_columns))
        fixed = ", ".join("?" * len(self.partition))
        picked = ", ".join(f"column{i + 1}" for i in range(len(self.row_columns)))
        row = "(" + ", ".join("?" * len(self.row_columns)) + ")"
        values = ", ".join([row] * rows)
        key = ", ".join(_quoted(c) for c in (*self.partition, self.row_columns[0]))
        updated = [_quoted(c) for c in self.row_columns[1:]]
        assignments = ", ".join(f"{c} = excluded.{c}" for c in updated)
        changed = " OR ".join(f"{table}.{c} IS NOT excluded.{c}" for c in updated)
        # "WHERE true": SQLite's parser needs it between INSERT … SELECT and ON CONFLICT.
        return (
            f"INSERT INTO {table} ({columns}) SELECT {fixed}, {picked} FROM (VALUES {values}) "
            f"WHERE true ON CONFLICT ({key}) DO UPDATE SET {assignments} WHERE {changed}"
        )

    def keys_between_sql(self) -> str:
        """The stored keys of the partition within ``[first, last]``."""
        return f"SELECT {self._key} FROM {self._series} AND {self._key} BETWEEN ? AND ?"

    def count_in_sql(self, keys: int) -> str:
        """How many of ``keys`` given keys the partition holds."""
        return f"SELECT count(*) FROM {self._series} AND {self._key} IN ({', '.join('?' * keys)})"

    @property
    def _key(self) -> str:
        return _quoted(self.row_columns[0])

    @property
    def _series(self) -> str:
        """The table and the partition's condition (its parameters first)."""
        where = " AND ".join(f"{_quoted(c)} = ?" for c in self.partition)
        return f"{_quoted(self.table)} WHERE {where}"


@dataclass(frozen=True)
class PreparedSeriesUpsert:
    """:class:`SeriesUpsert`'s SQL built once per store."""

    shape: SeriesUpsert
    many: str
    one: str
    keys_between: str

    @classmethod
    def of(cls, shape: SeriesUpsert) -> PreparedSeriesUpsert:
        return cls(
            shape, shape.values_sql(ROWS_PER_STATEMENT), shape.values_sql(1),
            shape.keys_between_sql(),
        )  # fmt: skip

    def run(
        self,
        conn: sqlite3.Connection,
        partition: Sequence[Any],
        rows: Sequence[tuple[Any, ...]],
        keys: list[int],
        *,
        dense: bool,
    ) -> int:
        """Upsert ``rows`` (unique keys ``keys``, sorted); returns how many keys were stored."""
        fixed = tuple(partition)
        if dense:
            present = conn.execute(self.keys_between, (*fixed, keys[0], keys[-1])).fetchall()
            existing = len({row[0] for row in present}.intersection(keys))
        else:
            counted = conn.execute(self.shape.count_in_sql(len(keys)), (*fixed, *keys))
            (existing,) = counted.fetchone()
        whole = len(rows) - len(rows) % ROWS_PER_STATEMENT
        if whole:
            conn.executemany(
                self.many,
                (
                    (*fixed, *chain.from_iterable(rows[start : start + ROWS_PER_STATEMENT]))
                    for start in range(0, whole, ROWS_PER_STATEMENT)
                ),
            )
        if whole < len(rows):
            conn.executemany(self.one, ((*fixed, *row) for row in rows[whole:]))
        return int(existing)
