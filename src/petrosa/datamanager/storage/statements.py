"""Bulk upsert / insert-if-absent in each dialect's native form, compiled once.

Rows are bound as tuples to one prepared statement and sent with ``executemany``: building
a dict per row and compiling per call costs about half the ingest throughput.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Dialect


@dataclass(frozen=True)
class PreparedStatement:
    """Driver-level SQL plus the column order its positional parameters follow."""

    sql: str
    columns: tuple[str, ...]


def prepare_upsert(
    table: Table,
    dialect: Dialect,
    *,
    key_columns: Sequence[str],
    update_columns: Sequence[str],
) -> PreparedStatement:
    """INSERT … ON CONFLICT DO UPDATE (SQLite, PostgreSQL) / ON DUPLICATE KEY UPDATE (MySQL)."""
    columns = [*key_columns, *update_columns]
    values: dict[str, Any] = {name: bindparam(name) for name in columns}
    stmt: Any
    if dialect.name == "mysql":
        stmt = mysql.insert(table).values(values)
        stmt = stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in update_columns})
    else:
        module: Any = postgresql if dialect.name == "postgresql" else sqlite
        stmt = module.insert(table).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key_columns),
            set_={c: stmt.excluded[c] for c in update_columns},
        )
    return _compile(stmt, dialect)


def prepare_insert_if_absent(
    table: Table, dialect: Dialect, *, columns: Sequence[str], key_columns: Sequence[str]
) -> PreparedStatement:
    """INSERT that silently skips rows whose key exists, and nothing else.

    On MySQL this is a no-op ``ON DUPLICATE KEY UPDATE`` rather than ``INSERT IGNORE``,
    which would also turn truncation and other data errors into warnings.
    """
    values: dict[str, Any] = {name: bindparam(name) for name in columns}
    stmt: Any
    if dialect.name == "mysql":
        stmt = mysql.insert(table).values(values)
        first_key = key_columns[0]
        stmt = stmt.on_duplicate_key_update({first_key: table.c[first_key]})
    else:
        module: Any = postgresql if dialect.name == "postgresql" else sqlite
        stmt = (
            module.insert(table)
            .values(values)
            .on_conflict_do_nothing(index_elements=list(key_columns))
        )
    return _compile(stmt, dialect)


def _compile(stmt: Any, dialect: Dialect) -> PreparedStatement:
    compiled = stmt.compile(dialect=dialect)
    order = tuple(compiled.positiontup or ())
    if not order:
        raise RuntimeError(f"dialect {dialect.name} did not compile positional parameters")
    return PreparedStatement(sql=compiled.string, columns=order)
