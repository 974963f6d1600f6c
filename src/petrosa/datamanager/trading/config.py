"""Application and strategy configuration, each change audited in the same transaction.

Application values are keyed by name. Strategy parameters live per strategy, globally and
as per-symbol overrides; a read for a symbol returns the global parameters overlaid with the
symbol's (top-level keys). A write that changes nothing adds no audit entry and keeps the
version; otherwise the version grows by one and the audit gets one entry per changed value
(for strategies, per changed parameter).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from petrosa.contracts.trading import (
    ConfigAuditEntry,
    ConfigValue,
    StrategyConfig,
    canonical_json,
)
from petrosa.datamanager.errors import NotFound
from petrosa.datamanager.storage.database import Database
from petrosa.datamanager.storage.trading_schema import (
    GLOBAL_SYMBOL,
    app_config,
    config_audit,
    strategy_config,
)
from petrosa.datamanager.trading.audit import AuditChange, parameter_changes, write_audit
from petrosa.datamanager.trading.transactions import (
    ensure_and_lock,
    new_write_id,
    run_write,
    utc_now,
)

APP_SCOPE = "app"


def strategy_scope(strategy_id: str, symbol: str | None = None) -> str:
    """``strategy:<id>`` for global parameters, ``strategy:<id>:<SYMBOL>`` for an override."""
    return f"strategy:{strategy_id}" if symbol is None else f"strategy:{strategy_id}:{symbol}"


class ConfigStore:
    def __init__(self, db: Database, *, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.db = db
        self._clock = clock

    async def get_app(self, key: str) -> ConfigValue:
        async with self.db.read() as conn:
            result = await conn.execute(select(app_config).where(app_config.c.config_key == key))
            row = result.first()
        if row is None:
            raise NotFound(f"application setting {key!r} does not exist")
        return _config_value(row)

    async def set_app(self, key: str, value: Any, *, changed_by: str) -> ConfigValue:
        """Store the value; an equal value (as JSON) writes nothing and keeps the version."""
        text = canonical_json(value)
        stamp = _Stamp(write_id=new_write_id(), at=self._clock(), by=changed_by)

        async def work(conn: AsyncConnection) -> ConfigValue:
            written = await _write_versioned(
                conn, app_config, {"config_key": key}, "value_json", text, stamp
            )
            if not written.changed:
                return _config_value(written.stored)
            change = AuditChange(key=key, old_json=written.old_json, new_json=text)
            await write_audit(conn, APP_SCOPE, [change], written.version, stamp.by, stamp.at)
            return ConfigValue(
                key=key,
                value=value,
                version=written.version,
                updated_at=stamp.at,
                updated_by=stamp.by,
            )

        return await run_write(self.db, work)

    async def get_strategy(self, strategy_id: str, symbol: str | None) -> StrategyConfig:
        """Effective parameters for the strategy (and symbol); 404 if neither part exists."""
        async with self.db.read() as conn:
            rows = await _strategy_rows(conn, strategy_id, symbol)
        if not rows:
            where = "" if symbol is None else f" or symbol {symbol!r}"
            raise NotFound(f"no configuration for strategy {strategy_id!r}{where}")
        return _strategy_config(strategy_id, symbol, rows)

    async def set_strategy(
        self, strategy_id: str, symbol: str | None, parameters: dict[str, Any], *, changed_by: str
    ) -> StrategyConfig:
        """Replace the global parameters (symbol None) or the symbol's overrides."""
        text = canonical_json(parameters)
        key = {"strategy_id": strategy_id, "symbol": GLOBAL_SYMBOL if symbol is None else symbol}
        stamp = _Stamp(write_id=new_write_id(), at=self._clock(), by=changed_by)

        async def work(conn: AsyncConnection) -> StrategyConfig:
            written = await _write_versioned(
                conn, strategy_config, key, "parameters_json", text, stamp
            )
            if written.changed:
                old = {} if written.old_json is None else json.loads(written.old_json)
                changes = parameter_changes(old, parameters)
                scope = strategy_scope(strategy_id, symbol)
                await write_audit(conn, scope, changes, written.version, stamp.by, stamp.at)
            rows = await _strategy_rows(conn, strategy_id, symbol)
            return _strategy_config(strategy_id, symbol, rows)

        return await run_write(self.db, work)

    async def audit(
        self, *, scope: str | None = None, key: str | None = None, limit: int
    ) -> list[ConfigAuditEntry]:
        """Audit entries matching the filters, newest first."""
        query = select(config_audit)
        if scope is not None:
            query = query.where(config_audit.c.scope == scope)
        if key is not None:
            query = query.where(config_audit.c.config_key == key)
        query = query.order_by(config_audit.c.id.desc()).limit(limit)
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [_audit_entry(row) for row in rows]


@dataclass(frozen=True)
class _Stamp:
    """Who writes, when, and the write id that tells this write's insert from an old row."""

    write_id: str
    at: dt.datetime
    by: str


@dataclass(frozen=True)
class _Written:
    stored: Row[Any]
    """The row as it was before this write (for a creation: as inserted)."""
    changed: bool
    version: int
    old_json: str | None
    """The previous value, None when this write created the row."""


async def _write_versioned(
    conn: AsyncConnection,
    table: Table,
    key: dict[str, str],
    column: str,
    text: str,
    stamp: _Stamp,
) -> _Written:
    """Put ``text`` in ``column`` of the keyed row, bumping its version only on a change."""
    stamped = {"write_id": stamp.write_id, "updated_at": stamp.at, "updated_by": stamp.by}
    row = await ensure_and_lock(conn, table, {**key, column: text, "version": 1, **stamped})
    if row.write_id == stamp.write_id:
        return _Written(stored=row, changed=True, version=1, old_json=None)
    old_json: str = getattr(row, column)
    if old_json == text:
        return _Written(stored=row, changed=False, version=row.version, old_json=old_json)
    version = row.version + 1
    where = [table.c[name] == value for name, value in key.items()]
    await conn.execute(
        update(table).where(*where).values({column: text, "version": version, **stamped})
    )
    return _Written(stored=row, changed=True, version=version, old_json=old_json)


async def _strategy_rows(
    conn: AsyncConnection, strategy_id: str, symbol: str | None
) -> dict[str, Row[Any]]:
    """The strategy's stored rows for the global scope and the symbol, by stored symbol."""
    symbols = [GLOBAL_SYMBOL] if symbol is None else [GLOBAL_SYMBOL, symbol]
    result = await conn.execute(
        select(strategy_config).where(
            strategy_config.c.strategy_id == strategy_id, strategy_config.c.symbol.in_(symbols)
        )
    )
    return {row.symbol: row for row in result}


def _strategy_config(
    strategy_id: str, symbol: str | None, rows: dict[str, Row[Any]]
) -> StrategyConfig:
    found = rows.values()
    global_row = rows.get(GLOBAL_SYMBOL)
    symbol_row = None if symbol is None else rows.get(symbol)
    global_parameters = {} if global_row is None else json.loads(global_row.parameters_json)
    symbol_parameters = {} if symbol_row is None else json.loads(symbol_row.parameters_json)
    return StrategyConfig(
        strategy_id=strategy_id,
        symbol=symbol,
        parameters={**global_parameters, **symbol_parameters},
        global_parameters=global_parameters,
        symbol_parameters=symbol_parameters,
        version=sum(row.version for row in found),
        updated_at=max((row.updated_at for row in found), default=None),
    )


def _config_value(row: Row[Any]) -> ConfigValue:
    return ConfigValue(
        key=row.config_key,
        value=json.loads(row.value_json),
        version=row.version,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def _audit_entry(row: Row[Any]) -> ConfigAuditEntry:
    return ConfigAuditEntry(
        id=row.id,
        scope=row.scope,
        key=row.config_key,
        old_value=None if row.old_value_json is None else json.loads(row.old_value_json),
        new_value=None if row.new_value_json is None else json.loads(row.new_value_json),
        version=row.version,
        changed_by=row.changed_by,
        changed_at=row.changed_at,
    )
