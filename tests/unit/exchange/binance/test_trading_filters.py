"""Symbol filters: read from exchangeInfo, and the rounding and checks that keep orders
inside them (quantities round down to the step, prices to the nearest tick)."""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal

import pytest

from petrosa.exchange.binance._trading_parse import symbol_filters
from petrosa.exchange.trading import (
    CLIENT_ORDER_ID_PATTERN,
    InvalidOrder,
    InvalidOrderReason,
    SymbolFilters,
    derive_client_order_id,
)

D = Decimal
EXCHANGE_INFO = {
    "symbols": [
        {
            "symbol": "BLZUSDT",
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "maxPrice": "300",
                    "minPrice": "0.0001",
                    "tickSize": "0.0001",
                },
                {"filterType": "LOT_SIZE", "maxQty": "10000000", "minQty": "1", "stepSize": "1"},
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "maxQty": "590119",
                    "minQty": "1",
                    "stepSize": "1",
                },
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                {"filterType": "MIN_NOTIONAL", "notional": "5.0"},
            ],
        }
    ]
}
"""The symbol of Binance's exchangeInfo example."""
BTC = SymbolFilters(
    symbol="BTCUSDT",
    step_size=D("0.001"),
    min_qty=D("0.001"),
    max_qty=D("1000"),
    market_max_qty=D("120"),
    tick_size=D("0.1"),
    min_price=D("556.8"),
    max_price=D("4529764"),
    min_notional=D("100"),
)


def test_filters_are_read_from_exchange_info() -> None:
    filters = symbol_filters(EXCHANGE_INFO)["BLZUSDT"]
    assert (filters.step_size, filters.min_qty, filters.market_max_qty) == (D(1), D(1), D(590119))
    assert (filters.tick_size, filters.min_notional) == (D("0.0001"), D(5))


@pytest.mark.parametrize(
    ("quantity", "rounded"),
    [("0.0025", "0.002"), ("0.002", "0.002"), ("0.0009", "0.000"), ("1.23456", "1.234")],
)
def test_quantities_round_down_to_the_step(quantity: str, rounded: str) -> None:
    assert str(BTC.round_quantity(D(quantity))) == rounded


def test_prices_round_to_the_tick() -> None:
    assert BTC.round_price(D("60000.15")) == D("60000.2")
    assert BTC.round_price(D("60000.25")) == D("60000.2")
    assert BTC.round_price(D("60000.19"), rounding=ROUND_DOWN) == D("60000.1")


@pytest.mark.parametrize(
    ("quantity", "market", "reason"),
    [
        ("0", True, InvalidOrderReason.QUANTITY_NOT_POSITIVE),
        ("0.0015", True, InvalidOrderReason.QUANTITY_OFF_STEP),
        ("121", True, InvalidOrderReason.QUANTITY_ABOVE_MAXIMUM),
        ("1001", False, InvalidOrderReason.QUANTITY_ABOVE_MAXIMUM),
    ],
)
def test_quantity_checks(quantity: str, market: bool, reason: InvalidOrderReason) -> None:
    with pytest.raises(InvalidOrder) as refused:
        BTC.check_quantity(D(quantity), market=market)
    assert refused.value.reason is reason
    assert isinstance(refused.value, ValueError)


def test_minimum_quantity_and_notional() -> None:
    coarse = SymbolFilters("X", D(1), D(5), D(100), D(100), D("0.01"), D("0.01"), D(10), D(5))
    with pytest.raises(InvalidOrder) as below:
        coarse.check_quantity(D(4))
    assert below.value.reason is InvalidOrderReason.QUANTITY_BELOW_MINIMUM
    with pytest.raises(InvalidOrder) as notional:
        BTC.check_notional(D("0.001"), D("60000"))
    assert notional.value.reason is InvalidOrderReason.NOTIONAL_BELOW_MINIMUM
    BTC.check_notional(D("0.002"), D("60000"))


def test_order_quantity_rounds_then_checks() -> None:
    assert BTC.order_quantity(D("0.0029"), D(60_000)) == D("0.002")
    with pytest.raises(InvalidOrder):
        BTC.order_quantity(D("0.0019"), D(60_000))
    assert BTC.order_quantity(D("0.0019"), D(60_000), reduce_only=True) == D("0.001")


def test_derived_client_order_ids_are_stable_and_valid() -> None:
    first = derive_client_order_id("signal-2025-06-01T12:00:00Z-BTCUSDT-momentum", "open")
    assert first == derive_client_order_id("signal-2025-06-01T12:00:00Z-BTCUSDT-momentum", "open")
    assert first != derive_client_order_id("signal-2025-06-01T12:00:00Z-BTCUSDT-momentum", "close")
    assert re.fullmatch(CLIENT_ORDER_ID_PATTERN, first)
    assert len(first) <= 36
