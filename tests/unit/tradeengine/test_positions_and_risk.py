"""Position arithmetic (exact P&L and fees, long and short) and the risk checks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D  # noqa: N817 (short for readable money literals)

import pytest

from petrosa.contracts.signals import Signal, derive_signal_id
from petrosa.contracts.trading import PositionSide
from petrosa.exchange.trading import OrderSide, derive_client_order_id
from petrosa.tradeengine.positions import Fill, apply_fill
from petrosa.tradeengine.risk import RiskLimits, RiskSnapshot, check_order

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
FEE = D("0.0004")


def fill(order_id: int, side: OrderSide, qty: str, price: str) -> Fill:
    quantity, fill_price = D(qty), D(price)
    return Fill(order_id, side, quantity, fill_price, quantity * fill_price * FEE, T0)


def test_long_round_trip_exact_pnl_and_fees() -> None:
    opened = apply_fill(None, fill(1, OrderSide.BUY, "0.5", "40000"))
    assert opened.realized == D("-8.0000")  # the opening fee: 0.5 * 40000 * 0.0004
    closed = apply_fill(opened.position, fill(2, OrderSide.SELL, "0.5", "41000"))
    assert closed.position is None
    assert closed.closed is not None
    assert closed.realized == D("500") - D("8.2000")
    assert closed.closed.realized_pnl == D("500") - D("8") - D("8.2")
    assert closed.closed.fees == D("16.2")
    assert opened.realized + closed.realized == closed.closed.realized_pnl


def test_short_round_trip_exact_pnl_and_fees() -> None:
    opened = apply_fill(None, fill(1, OrderSide.SELL, "10", "2000"))
    assert opened.position is not None
    assert opened.position.side is PositionSide.SHORT
    closed = apply_fill(opened.position, fill(2, OrderSide.BUY, "10", "1900"))
    assert closed.closed is not None
    assert closed.closed.realized_pnl == D("1000") - D("8") - D("7.6")


def test_adds_average_the_entry_and_partial_reduce_keeps_it() -> None:
    first = apply_fill(None, fill(1, OrderSide.BUY, "1", "100"))
    added = apply_fill(first.position, fill(2, OrderSide.BUY, "3", "120"))
    assert added.position is not None
    assert added.position.entry_price == D("115")
    reduced = apply_fill(added.position, fill(3, OrderSide.SELL, "2", "130"))
    assert reduced.position is not None
    assert reduced.position.quantity == D("2")
    assert reduced.position.entry_price == D("115")
    assert reduced.realized == D("30") - D("0.104")


def test_flip_closes_then_opens_the_remainder() -> None:
    long = apply_fill(None, fill(1, OrderSide.BUY, "1", "100")).position
    flipped = apply_fill(long, fill(2, OrderSide.SELL, "3", "90"))
    assert flipped.closed is not None
    assert flipped.position is not None
    assert flipped.position.side is PositionSide.SHORT
    assert flipped.position.quantity == D("2")
    total_fee = D("3") * D("90") * FEE
    assert flipped.closed.fees + flipped.position.fees == D("0.04") + total_fee


def test_unrealized_pnl_from_mark_price() -> None:
    short = apply_fill(None, fill(1, OrderSide.SELL, "2", "50")).position
    assert short is not None
    assert short.unrealized(D("45")) == D("10")


LIMITS = RiskLimits(
    max_position_notional=D("1000"),
    max_total_exposure=D("2"),
    max_daily_loss=D("100"),
    max_open_positions=2,
    cooldown=dt.timedelta(minutes=5),
)


@pytest.mark.parametrize(
    ("symbol", "added", "snapshot", "reason"),
    [
        ("BTCUSDT", D("500"), RiskSnapshot(equity=D("1000"), daily_pnl=D("0"), now=T0), None),
        ("BTCUSDT", D("0"), RiskSnapshot(equity=D("0"), daily_pnl=D("-999"), now=T0), None),
        ("BTCUSDT", D("1"), RiskSnapshot(D("1000"), D("-100"), now=T0), "max daily loss"),
        ("BTCUSDT", D("600"), RiskSnapshot(D("5000"), D("0"), {"BTCUSDT": D("500")}, now=T0),
         "max position notional"),
        ("ETHUSDT", D("500"), RiskSnapshot(D("500"), D("0"), {"BTCUSDT": D("600")}, now=T0),
         "max total exposure"),
        ("XRPUSDT", D("10"), RiskSnapshot(D("9000"), D("0"), {"A": D("1"), "B": D("1")}, now=T0),
         "max open positions"),
        ("BTCUSDT", D("10"), RiskSnapshot(D("9000"), D("0"), last_entry_at=T0, now=T0),
         "cooldown"),
    ],
)  # fmt: skip
def test_risk_checks(symbol: str, added: D, snapshot: RiskSnapshot, reason: str | None) -> None:
    verdict = check_order(symbol, added, LIMITS, snapshot)
    if reason is None:
        assert verdict is None
    else:
        assert verdict is not None
        assert verdict.startswith(reason)


def test_signal_ids_and_client_order_ids_are_deterministic() -> None:
    a = derive_signal_id("rsi", "BTCUSDT", "5m", T0)
    assert a == derive_signal_id("rsi", "BTCUSDT", "5m", T0)
    assert a != derive_signal_id("rsi", "BTCUSDT", "15m", T0)
    signal = Signal(
        strategy_id="rsi", symbol="BTCUSDT", action="buy", confidence=0.7, price=D("100"),
        timestamp=T0, timeframe="5m",
    )  # fmt: skip
    assert signal.id == a
    order_id = derive_client_order_id(a)
    assert order_id == derive_client_order_id(a)
    assert len(order_id) <= 36
    assert derive_client_order_id(a, prefix="sl") != order_id


@pytest.mark.parametrize(
    "changes",
    [{"price": "-1"}, {"price": "NaN"}, {"confidence": 1.5}, {"quantity": "0"},
     {"timestamp": "2026-01-01T00:00:00"}, {"symbol": "btc"}],
)  # fmt: skip
def test_bad_signals_are_refused(changes: dict[str, object]) -> None:
    body: dict[str, object] = {
        "strategy_id": "rsi", "symbol": "BTCUSDT", "action": "buy", "confidence": 0.5,
        "price": "100", "timestamp": T0.isoformat(), **changes,
    }  # fmt: skip
    with pytest.raises(ValueError, match="validation error"):
        Signal.model_validate(body)
