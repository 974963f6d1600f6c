"""What an order would be, and whether it may go: pure functions over what a decision read.

Everything here is sized and checked at the mark price the engine read, never at the
price a signal claims: a signal only proposes a direction (and optionally a size), and
its price is only compared with the mark, so one priced far off the market is refused
instead of opening a position sized at a price that does not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

from petrosa.contracts import Interval
from petrosa.contracts.signals import TRADING_ACTIONS, Signal, SignalAction
from petrosa.contracts.trading import DailyPnl, Position, PositionSide
from petrosa.exchange.trading import AccountSnapshot, OrderSide, SymbolFilters
from petrosa.tradeengine.risk import RiskLimits, RiskSnapshot, check_order

HUNDRED = Decimal(100)


class Rejected(Exception):
    """The signal is refused; the message is the recorded reason."""


@dataclass(frozen=True)
class SignalRules:
    """What a signal must satisfy before anything is read for it."""

    symbols: tuple[str, ...]
    max_age_s: float
    """Older signals are stale; a candle signal stays fresh at least one of its candles
    (:func:`allowed_age_s`)."""
    max_clock_skew_s: float
    """Signals stamped further ahead of this replica's clock come from the future."""


@dataclass(frozen=True)
class Sizing:
    default_notional: Decimal
    """Order notional when a signal gives neither quantity nor position_size_pct."""
    max_price_deviation_pct: Decimal
    """Largest distance of a signal's price from the mark, in percent of the mark."""


@dataclass(frozen=True)
class OrderPlan:
    side: OrderSide
    quantity: Decimal
    reduce_only: bool
    added_notional: Decimal


@dataclass(frozen=True)
class MarketView:
    """What a decision reads, fetched together with the claim."""

    positions: list[Position]
    """Every open position (exposure), this symbol's included."""
    daily: DailyPnl
    account: AccountSnapshot
    filters: SymbolFilters
    mark_price: Decimal
    """The signal's symbol's mark price."""
    marks: dict[str, Decimal] = field(default_factory=dict)
    """Mark prices of the other symbols holding open positions (those that could be read)."""

    def position(self, symbol: str) -> Position | None:
        return next((p for p in self.positions if p.symbol == symbol), None)


def precheck(signal: Signal, rules: SignalRules, now: dt.datetime) -> None:
    """Refuse what no market read could make acceptable: holds, unknown symbols, signals
    too old or stamped in the future."""
    if signal.action is SignalAction.HOLD:
        raise Rejected("hold: nothing to do")
    if signal.action not in TRADING_ACTIONS:
        raise Rejected(f"{signal.action.value}: not a trading action")
    if signal.symbol not in rules.symbols:
        raise Rejected(f"unknown symbol {signal.symbol}")
    age = (now - signal.timestamp).total_seconds()
    allowed = allowed_age_s(signal, rules.max_age_s)
    if age > allowed:
        raise Rejected(f"stale: {age:.0f}s old (max {allowed:g}s)")
    if -age > rules.max_clock_skew_s:
        raise Rejected(
            f"future: stamped {signal.timestamp.isoformat()}, {-age:.0f}s ahead of this "
            f"replica's clock (max {rules.max_clock_skew_s:g}s)"
        )


def allowed_age_s(signal: Signal, max_age_s: float) -> float:
    """How old ``signal`` may be: ``max_age_s``, or for a candle signal the length of its
    timeframe when that is longer.

    A candle signal is stamped with its candle's close and stays the strategy's decision
    until the next candle of its timeframe closes; the extractor stores candles minutes
    after they close, so ``max_age_s`` alone would refuse every candle signal it triggers.
    """
    if signal.candle_close_time is None or signal.timeframe is None:
        return max_age_s
    try:
        step_ms = Interval(signal.timeframe).milliseconds
    except ValueError:
        return max_age_s
    return max_age_s if step_ms is None else max(max_age_s, step_ms / 1000)


def plan_order(
    signal: Signal, view: MarketView, limits: RiskLimits, sizing: Sizing, now: dt.datetime
) -> OrderPlan:
    """The order ``signal`` leads to at the mark price of ``view``, or :class:`Rejected`.

    A close (or a signal against the open position) reduces it by its whole quantity and
    always passes: its size does not depend on any price, and cutting risk is never
    blocked. Anything adding risk must be priced near the mark and pass the risk limits.
    """
    position = view.position(signal.symbol)
    if signal.action is SignalAction.CLOSE or (
        position is not None and opposes(position.side, signal.action)
    ):
        if position is None:
            raise Rejected("close: no open position")
        side = OrderSide.closing(position.side)
        return OrderPlan(side, position.quantity, reduce_only=True, added_notional=Decimal(0))
    mark, filters, equity = view.mark_price, view.filters, view.account.equity
    check_price(signal.price, mark, sizing.max_price_deviation_pct)
    side = OrderSide.BUY if signal.action is SignalAction.BUY else OrderSide.SELL
    if signal.quantity is not None:
        wanted = signal.quantity
    elif signal.position_size_pct is not None:
        wanted = equity * signal.position_size_pct / HUNDRED / mark
    else:
        wanted = sizing.default_notional / mark
    quantity = filters.order_quantity(at_least_min_notional(wanted, mark, filters), mark)
    added = quantity * mark
    snapshot = exposure_at_mark(signal.symbol, view, now)
    reason = check_order(signal.symbol, added, limits, snapshot)
    if reason is not None:
        raise Rejected(f"risk: {reason}")
    return OrderPlan(side, quantity, reduce_only=False, added_notional=added)


def check_price(price: Decimal, mark: Decimal, max_deviation_pct: Decimal) -> None:
    """Refuse a signal price further than ``max_deviation_pct`` percent from the mark."""
    if mark <= 0:
        raise Rejected(f"price: no usable mark price ({mark})")
    deviation = abs(price - mark) / mark * HUNDRED
    if deviation > max_deviation_pct:
        raise Rejected(
            f"price: signal {price.normalize():f} deviates {deviation:.1f}% from mark "
            f"{mark.normalize():f} (max {max_deviation_pct.normalize():f}%)"
        )


def exposure_at_mark(symbol: str, view: MarketView, now: dt.datetime) -> RiskSnapshot:
    """Open positions valued at their symbols' mark prices; a symbol whose mark could not
    be read (absent from ``view.marks``) counts at its entry price."""
    marks = {**view.marks, symbol: view.mark_price}
    mine = [p for p in view.positions if p.symbol == symbol]
    return RiskSnapshot(
        equity=view.account.equity,
        daily_pnl=view.daily.total,
        position_notionals={
            p.symbol: p.quantity * marks.get(p.symbol, p.entry_price) for p in view.positions
        },
        last_entry_at=max((p.updated_at for p in mine), default=None),
        now=now,
    )


def at_least_min_notional(wanted: Decimal, price: Decimal, filters: SymbolFilters) -> Decimal:
    """Sizes from a notional round down onto the step grid, which can fall just below the
    symbol's minimum notional; then the smallest size that reaches it is used instead (the
    risk checks still apply to the result)."""
    if filters.round_quantity(wanted) * price >= filters.min_notional:
        return wanted
    steps = (filters.min_notional / price / filters.step_size).to_integral_value(ROUND_CEILING)
    return steps * filters.step_size


def opposes(side: PositionSide, action: SignalAction) -> bool:
    return (side is PositionSide.LONG and action is SignalAction.SELL) or (
        side is PositionSide.SHORT and action is SignalAction.BUY
    )
