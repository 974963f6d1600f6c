"""Tables for trading state: positions, daily P&L with its events, configuration and audit.

Free-form JSON (position metadata, configuration values) is stored as canonical JSON text
(sorted keys, compact), so "unchanged" is an exact text comparison on every engine.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, Index, Integer, String, Table, Text

from petrosa.datamanager.storage.metadata import metadata
from petrosa.datamanager.storage.types import Money, UtcDateTime

WRITE_ID_LENGTH = 32
"""A uuid4 hex naming the request that last wrote a row; tells an insert from a no-op."""

# positions.fence: the highest fencing token (of the writer's lease lock) the position was
# written with; NULL until a fenced write arrives. See ``trading.fencing``.

positions = Table(
    "positions",
    metadata,
    Column("position_id", String(128), primary_key=True),
    Column("strategy_id", String(128), nullable=False),
    Column("symbol", String(20), nullable=False),
    Column("side", String(8), nullable=False),
    Column("status", String(8), nullable=False),
    Column("quantity", Money(), nullable=False),
    Column("entry_price", Money(), nullable=False),
    Column("exit_price", Money(), nullable=True),
    Column("realized_pnl", Money(), nullable=False),
    Column("unrealized_pnl", Money(), nullable=False),
    Column("fees", Money(), nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("metadata_json", Text(), nullable=False),
    Column("fence", BigInteger(), nullable=True),
    Column("write_id", String(WRITE_ID_LENGTH), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_positions_opened_at", "opened_at"),
    Index("ix_positions_status_opened_at", "status", "opened_at"),
    Index("ix_positions_strategy_id_status_opened_at", "strategy_id", "status", "opened_at"),
    Index("ix_positions_symbol_status_opened_at", "symbol", "status", "opened_at"),
)

daily_pnl = Table(
    "daily_pnl",
    metadata,
    Column("pnl_date", Date(), primary_key=True),
    Column("total", Money(), nullable=False),
    Column("event_count", Integer(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=True),
)

pnl_events = Table(
    "pnl_events",
    metadata,
    Column("event_id", String(128), primary_key=True),
    Column("pnl_date", Date(), nullable=False),
    Column("amount", Money(), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("symbol", String(20), nullable=True),
    Column("position_id", String(128), nullable=True),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Index("ix_pnl_events_pnl_date", "pnl_date"),
)

app_config = Table(
    "app_config",
    metadata,
    Column("config_key", String(128), primary_key=True),
    Column("value_json", Text(), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("write_id", String(WRITE_ID_LENGTH), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("updated_by", String(128), nullable=False),
)

GLOBAL_SYMBOL = ""
"""``strategy_config.symbol`` of a strategy's global parameters (a key column cannot be NULL)."""

strategy_config = Table(
    "strategy_config",
    metadata,
    Column("strategy_id", String(128), primary_key=True),
    Column("symbol", String(20), primary_key=True),
    Column("parameters_json", Text(), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("write_id", String(WRITE_ID_LENGTH), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("updated_by", String(128), nullable=False),
)

config_audit = Table(
    "config_audit",
    metadata,
    Column(
        "id",
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("scope", String(160), nullable=False),
    Column("config_key", String(128), nullable=False),
    Column("old_value_json", Text(), nullable=True),
    Column("new_value_json", Text(), nullable=True),
    Column("version", Integer(), nullable=False),
    Column("changed_by", String(128), nullable=False),
    Column("changed_at", UtcDateTime(), nullable=False),
    Index("ix_config_audit_scope_config_key_id", "scope", "config_key", "id"),
    Index("ix_config_audit_config_key_id", "config_key", "id"),
)
