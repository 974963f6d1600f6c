"""Risk checks before every order: pure functions over a snapshot, each with a reason."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class RiskLimits:
    max_position_notional: Decimal
    """Largest notional (quantity * price) one symbol's position may reach, USDT."""
    max_total_exposure: Decimal
    """Largest sum of all positions' notionals as a multiple of account equity."""
    max_daily_loss: Decimal
    """Once today's realized P&L is at or below minus this, no new risk is taken."""
    max_open_positions: int
    cooldown: dt.timedelta
    """Least time between two risk-increasing orders on one symbol."""


@dataclass(frozen=True)
class RiskSnapshot:
    equity: Decimal
    daily_pnl: Decimal
    position_notionals: dict[str, Decimal] = field(default_factory=dict)
    """Open positions' notionals by symbol (absolute values)."""
    last_entry_at: dt.datetime | None = None
    """When this symbol last took an order that increased its position."""
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


def check_order(
    symbol: str, added_notional: Decimal, limits: RiskLimits, snapshot: RiskSnapshot
) -> str | None:
    """None when an order adding ``added_notional`` to ``symbol`` may go, else why not.

    Orders that only reduce a position (``added_notional`` 0) always pass: cutting risk is
    never blocked by risk limits.
    """
    if added_notional <= 0:
        return None
    if snapshot.daily_pnl <= -limits.max_daily_loss:
        return f"max daily loss reached: today's realized P&L is {snapshot.daily_pnl}"
    current = snapshot.position_notionals.get(symbol, Decimal(0))
    if current + added_notional > limits.max_position_notional:
        return (
            f"max position notional {limits.max_position_notional} would be exceeded "
            f"({current} + {added_notional.quantize(Decimal('0.01'))})"
        )
    total = sum(snapshot.position_notionals.values(), Decimal(0)) + added_notional
    if total > limits.max_total_exposure * snapshot.equity:
        return (
            f"max total exposure {limits.max_total_exposure}x equity ({snapshot.equity}) "
            f"would be exceeded ({total.quantize(Decimal('0.01'))})"
        )
    opened = set(snapshot.position_notionals)
    if symbol not in opened and len(opened) >= limits.max_open_positions:
        return f"max open positions {limits.max_open_positions} reached"
    if (
        snapshot.last_entry_at is not None
        and snapshot.now - snapshot.last_entry_at < limits.cooldown
    ):
        return f"cooldown: last entry on {symbol} at {snapshot.last_entry_at.isoformat()}"
    return None
