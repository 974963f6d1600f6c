"""Trading state: positions, daily P&L and its events, configuration and its audit trail.

Revision ID: 0003_trading_state
Revises: 0001_market_data
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003_trading_state"
down_revision = "0001_market_data"
branch_labels = None
depends_on = None

_WRITE_ID = 32


# Frozen copies of storage.types' column layouts, so this revision never changes under it:
# exact decimals (text on SQLite, whose NUMERIC is a float) and microsecond UTC datetimes.
def _money() -> sa.types.TypeEngine[Any]:
    return sa.Numeric(38, 18).with_variant(sa.String(64), "sqlite")


def _utc_datetime() -> sa.types.TypeEngine[Any]:
    return sa.DateTime(timezone=False).with_variant(mysql.DATETIME(fsp=6), "mysql")


def upgrade() -> None:
    op.create_table(
        "positions",
        sa.Column("position_id", sa.String(128), nullable=False),
        sa.Column("strategy_id", sa.String(128), nullable=False),
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("quantity", _money(), nullable=False),
        sa.Column("entry_price", _money(), nullable=False),
        sa.Column("exit_price", _money(), nullable=True),
        sa.Column("realized_pnl", _money(), nullable=False),
        sa.Column("unrealized_pnl", _money(), nullable=False),
        sa.Column("fees", _money(), nullable=False),
        sa.Column("opened_at", _utc_datetime(), nullable=False),
        sa.Column("closed_at", _utc_datetime(), nullable=True),
        sa.Column("metadata_json", sa.Text(), nullable=False),
        sa.Column("write_id", sa.String(_WRITE_ID), nullable=False),
        sa.Column("created_at", _utc_datetime(), nullable=False),
        sa.Column("updated_at", _utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("position_id", name="pk_positions"),
    )
    op.create_index("ix_positions_opened_at", "positions", ["opened_at"])
    op.create_index("ix_positions_status_opened_at", "positions", ["status", "opened_at"])
    op.create_index(
        "ix_positions_strategy_id_status_opened_at",
        "positions",
        ["strategy_id", "status", "opened_at"],
    )
    op.create_index(
        "ix_positions_symbol_status_opened_at", "positions", ["symbol", "status", "opened_at"]
    )
    op.create_table(
        "daily_pnl",
        sa.Column("pnl_date", sa.Date(), nullable=False),
        sa.Column("total", _money(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", _utc_datetime(), nullable=True),
        sa.PrimaryKeyConstraint("pnl_date", name="pk_daily_pnl"),
    )
    op.create_table(
        "pnl_events",
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("pnl_date", sa.Date(), nullable=False),
        sa.Column("amount", _money(), nullable=False),
        sa.Column("occurred_at", _utc_datetime(), nullable=False),
        sa.Column("symbol", sa.String(20), nullable=True),
        sa.Column("position_id", sa.String(128), nullable=True),
        sa.Column("recorded_at", _utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_pnl_events"),
    )
    op.create_index("ix_pnl_events_pnl_date", "pnl_events", ["pnl_date"])
    op.create_table(
        "app_config",
        sa.Column("config_key", sa.String(128), nullable=False),
        sa.Column("value_json", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("write_id", sa.String(_WRITE_ID), nullable=False),
        sa.Column("updated_at", _utc_datetime(), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("config_key", name="pk_app_config"),
    )
    op.create_table(
        "strategy_config",
        sa.Column("strategy_id", sa.String(128), nullable=False),
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("parameters_json", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("write_id", sa.String(_WRITE_ID), nullable=False),
        sa.Column("updated_at", _utc_datetime(), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("strategy_id", "symbol", name="pk_strategy_config"),
    )
    op.create_table(
        "config_audit",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("scope", sa.String(160), nullable=False),
        sa.Column("config_key", sa.String(128), nullable=False),
        sa.Column("old_value_json", sa.Text(), nullable=True),
        sa.Column("new_value_json", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_by", sa.String(128), nullable=False),
        sa.Column("changed_at", _utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_config_audit"),
    )
    op.create_index(
        "ix_config_audit_scope_config_key_id", "config_audit", ["scope", "config_key", "id"]
    )
    op.create_index("ix_config_audit_config_key_id", "config_audit", ["config_key", "id"])


def downgrade() -> None:
    op.drop_index("ix_config_audit_config_key_id", table_name="config_audit")
    op.drop_index("ix_config_audit_scope_config_key_id", table_name="config_audit")
    op.drop_table("config_audit")
    op.drop_table("strategy_config")
    op.drop_table("app_config")
    op.drop_index("ix_pnl_events_pnl_date", table_name="pnl_events")
    op.drop_table("pnl_events")
    op.drop_table("daily_pnl")
    op.drop_index("ix_positions_symbol_status_opened_at", table_name="positions")
    op.drop_index("ix_positions_strategy_id_status_opened_at", table_name="positions")
    op.drop_index("ix_positions_status_opened_at", table_name="positions")
    op.drop_index("ix_positions_opened_at", table_name="positions")
    op.drop_table("positions")
