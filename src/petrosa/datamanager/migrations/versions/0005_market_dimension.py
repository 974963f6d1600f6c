"""Klines and trades are stored per market (spot | futures).

Binance spot and USD-M futures list the same symbols with different candles and independent
trade ids; keyed without the market, a spot run overwrote the futures rows of its symbol.
``market`` now leads both primary keys (klines: market, symbol, interval, open_time; trades:
market, symbol, trade_id) and the trades time index.

Rows stored before this revision become ``futures`` rows: the extractor's default market,
which is what an unqualified run stored. The column has no default afterwards; the Data
Manager always writes it.

SQLite cannot alter a primary key, so there each table is rebuilt (copy, drop, rename);
MariaDB and PostgreSQL change the key in place. Downgrading refuses while spot rows exist:
without the market they would collide with the futures rows of the same key.

Revision ID: 0005_market_dimension
Revises: 0004_position_fence
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0005_market_dimension"
down_revision = "0004_position_fence"
branch_labels = None
depends_on = None

_MARKET = 8
_EXISTING_MARKET = "futures"
_KLINE_KEY = ("symbol", "interval", "open_time")
_TRADE_KEY = ("symbol", "trade_id")
_OLD_TRADE_INDEX = ("ix_trades_symbol_time", ("symbol", "time"))
_NEW_TRADE_INDEX = ("ix_trades_market_symbol_time", ("market", "symbol", "time"))


# Frozen copies of the column layouts (0001 plus the market), so this revision never changes
# under it.
def _kline_columns() -> list[sa.Column[object]]:
    return [
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
    ]


def _trade_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("trade_id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("price", sa.Double, nullable=False),
        sa.Column("quantity", sa.Double, nullable=False),
        sa.Column("time", sa.BigInteger, nullable=False),
        sa.Column("is_buyer_maker", sa.Boolean, nullable=False),
        sa.Column("first_trade_id", sa.BigInteger, nullable=True),
        sa.Column("last_trade_id", sa.BigInteger, nullable=True),
    ]


def _market_column() -> sa.Column[object]:
    return sa.Column("market", sa.String(_MARKET), nullable=False)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index(_OLD_TRADE_INDEX[0], table_name="trades")
    if dialect == "sqlite":
        _rebuild_sqlite("klines", _kline_columns, _KLINE_KEY, with_market=True)
        _rebuild_sqlite("trades", _trade_columns, _TRADE_KEY, with_market=True)
    else:
        _rekey_in_place("klines", _KLINE_KEY, with_market=True)
        _rekey_in_place("trades", _TRADE_KEY, with_market=True)
    op.create_index(_NEW_TRADE_INDEX[0], "trades", list(_NEW_TRADE_INDEX[1]))


def downgrade() -> None:
    bind = op.get_bind()
    for table in ("klines", "trades"):
        other = bind.execute(
            sa.text(f"SELECT COUNT(*) FROM {table} WHERE market <> :market"),
            {"market": _EXISTING_MARKET},
        ).scalar_one()
        if other:
            raise RuntimeError(
                f"cannot downgrade below 0005_market_dimension: {table} holds {other} rows of "
                f"markets other than {_EXISTING_MARKET!r}, which would collide without the "
                "market column; delete them first"
            )
    op.drop_index(_NEW_TRADE_INDEX[0], table_name="trades")
    if bind.dialect.name == "sqlite":
        _rebuild_sqlite("klines", _kline_columns, _KLINE_KEY, with_market=False)
        _rebuild_sqlite("trades", _trade_columns, _TRADE_KEY, with_market=False)
    else:
        _rekey_in_place("klines", _KLINE_KEY, with_market=False)
        _rekey_in_place("trades", _TRADE_KEY, with_market=False)
    op.create_index(_OLD_TRADE_INDEX[0], "trades", list(_OLD_TRADE_INDEX[1]))


def _rebuild_sqlite(
    table: str,
    columns: Callable[[], list[sa.Column[object]]],
    key: tuple[str, ...],
    *,
    with_market: bool,
) -> None:
    """Copy the table into one with the new layout and key, then swap the two."""
    bind = op.get_bind()
    quote = bind.dialect.identifier_preparer.quote
    data = columns()
    names = ", ".join(quote(c.name) for c in data)
    full_key = ("market", *key) if with_market else key
    layout = [_market_column(), *data] if with_market else data
    staging = f"{table}_rekeyed"
    sa.Table(
        staging,
        sa.MetaData(),
        *layout,
        sa.PrimaryKeyConstraint(*full_key, name=f"pk_{table}"),
        sqlite_with_rowid=False,
    ).create(bind)
    if with_market:
        bind.execute(
            sa.text(
                f"INSERT INTO {staging} (market, {names}) SELECT :market, {names} FROM {table}"
            ),
            {"market": _EXISTING_MARKET},
        )
    else:
        bind.execute(sa.text(f"INSERT INTO {staging} ({names}) SELECT {names} FROM {table}"))
    op.drop_table(table)
    op.rename_table(staging, table)


def _rekey_in_place(table: str, key: tuple[str, ...], *, with_market: bool) -> None:
    """Add (or drop) the market column and move the primary key in one ALTER where possible."""
    bind = op.get_bind()
    quote = bind.dialect.identifier_preparer.quote
    mysql = bind.dialect.name == "mysql"
    full_key = ("market", *key) if with_market else key
    columns = ", ".join(quote(c) for c in full_key)
    drop_key = "DROP PRIMARY KEY" if mysql else f"DROP CONSTRAINT pk_{table}"
    add_key = f"ADD CONSTRAINT pk_{table} PRIMARY KEY ({columns})"
    if with_market:
        # The default fills existing rows (instantly where the server can), then goes.
        op.execute(
            f"ALTER TABLE {table} "
            f"ADD COLUMN market VARCHAR({_MARKET}) NOT NULL DEFAULT '{_EXISTING_MARKET}', "
            f"{drop_key}, {add_key}"
        )
        op.execute(f"ALTER TABLE {table} ALTER COLUMN market DROP DEFAULT")
    else:
        op.execute(f"ALTER TABLE {table} {drop_key}, DROP COLUMN market, {add_key}")
