"""Market data: klines, trades, funding rates.

Revision ID: 0001_market_data
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_market_data"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "klines",
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("interval", sa.String(3), nullable=False),
        sa.Column("open_time", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("open", sa.Double, nullable=False),
        sa.Column("high", sa.Double, nullable=False),
        sa.Column("low", sa.Double, nullable=False),
        sa.Column("close", sa.Double, nullable=False),
        sa.Column("volume", sa.Double, nullable=False),
        sa.Column("close_time", sa.BigInteger, nullable=False),
        sa.Column("quote_volume", sa.Double, nullable=False),
        sa.Column("trades", sa.BigInteger, nullable=False),
        sa.Column("taker_buy_base_volume", sa.Double, nullable=False),
        sa.Column("taker_buy_quote_volume", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("symbol", "interval", "open_time", name="pk_klines"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "trades",
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("trade_id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("price", sa.Double, nullable=False),
        sa.Column("quantity", sa.Double, nullable=False),
        sa.Column("time", sa.BigInteger, nullable=False),
        sa.Column("is_buyer_maker", sa.Boolean, nullable=False),
        sa.Column("first_trade_id", sa.BigInteger, nullable=True),
        sa.Column("last_trade_id", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("symbol", "trade_id", name="pk_trades"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_trades_symbol_time", "trades", ["symbol", "time"])
    op.create_table(
        "funding_rates",
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("funding_time", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("funding_rate", sa.Double, nullable=False),
        sa.Column("mark_price", sa.Double, nullable=True),
        sa.PrimaryKeyConstraint("symbol", "funding_time", name="pk_funding_rates"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("funding_rates")
    op.drop_index("ix_trades_symbol_time", table_name="trades")
    op.drop_table("trades")
    op.drop_table("klines")
