"""The trade engine's position writes carry the symbol lock's fencing token: a replica whose
lease was taken over cannot overwrite what its successor wrote (real Data Manager)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from petrosa.client import DataManagerClient, StaleFenceError
from petrosa.exchange.trading import OrderFill, OrderSide, OrderStatus, OrderType
from petrosa.tradeengine.book import Book

pytestmark = pytest.mark.integration


def fill(symbol: str, order_id: int, side: OrderSide, quantity: str, price: str) -> OrderFill:
    return OrderFill(
        order_id=order_id,
        client_order_id=f"pt-{order_id}",
        symbol=symbol,
        side=side,
        type=OrderType.MARKET,
        status=OrderStatus.FILLED,
        orig_qty=Decimal(quantity),
        executed_qty=Decimal(quantity),
        avg_price=Decimal(price),
        cum_quote=Decimal(quantity) * Decimal(price),
        stop_price=None,
        reduce_only=side is OrderSide.SELL,
        close_position=False,
        update_time=dt.datetime(2026, 11, 29, 12, order_id, tzinfo=dt.UTC),
        commission=Decimal("0.01"),
    )


async def test_a_write_under_an_older_token_is_refused_and_changes_nothing(
    client: DataManagerClient,
) -> None:
    book = Book(client)
    symbol = f"F{uuid.uuid4().hex[:8].upper()}USDT"  # the Data Manager is shared per session
    await book.apply("s", symbol, fill(symbol, 1, OrderSide.BUY, "1", "2000"), fence=7)
    with pytest.raises(StaleFenceError):  # the zombie holder (token 6) adds to the position
        await book.apply("s", symbol, fill(symbol, 2, OrderSide.BUY, "1", "2100"), fence=6)
    (position,) = await client.get_open_positions(symbol=symbol)
    assert position.quantity == Decimal(1)
    assert position.metadata["fills"] == [1]
    # The successor (token 8) goes on; the zombie's fill, if it existed, would be found and
    # applied by reconciliation under a current token, never by the zombie.
    await book.apply("s", symbol, fill(symbol, 3, OrderSide.SELL, "1", "2050"), fence=8)
    (closed,) = await client.list_positions(symbol=symbol, status="closed")
    assert closed.realized_pnl == Decimal("50") - Decimal("0.02")
