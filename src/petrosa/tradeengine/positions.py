"""Position arithmetic for one-way futures positions, in exact decimals.

Fees are realized when paid, so every fill's realized P&L is its closing profit (if it reduces
the position) minus its own fee; a position's ``realized_pnl`` is the sum over its fills and
equals what is recorded in daily P&L under the fills' event ids.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal

from petrosa.contracts.trading import PositionSide
from petrosa.exchange.trading import OrderSide

PRICE_QUANTUM = Decimal("1e-12")
"""Weighted entry prices and split fees are kept to 12 decimals (the store allows 18)."""
ZERO = Decimal(0)


@dataclass(frozen=True)
class Fill:
    order_id: int
    side: OrderSide
    quantity: Decimal
    price: Decimal
    fee: Decimal
    time: dt.datetime


@dataclass(frozen=True)
class OpenPosition:
    side: PositionSide
    quantity: Decimal
    entry_price: Decimal
    realized_pnl: Decimal
    fees: Decimal
    opened_at: dt.datetime

    def unrealized(self, mark_price: Decimal) -> Decimal:
        return _gross(self.side, self.entry_price, mark_price, self.quantity)

    @property
    def notional(self) -> Decimal:
        return self.quantity * self.entry_price


@dataclass(frozen=True)
class FillOutcome:
    """The position after a fill, the part it closed (if any), and the P&L it realized."""

    position: OpenPosition | None
    closed: OpenPosition | None
    """The position as it was closed by this fill (quantity = what it had), or None."""
    realized: Decimal


def _opens(side: OrderSide) -> PositionSide:
    return PositionSide.LONG if side is OrderSide.BUY else PositionSide.SHORT


def _gross(side: PositionSide, entry: Decimal, exit_price: Decimal, quantity: Decimal) -> Decimal:
    move = exit_price - entry if side is PositionSide.LONG else entry - exit_price
    return move * quantity


def apply_fill(position: OpenPosition | None, fill: Fill) -> FillOutcome:
    """The new state after ``fill``: opens, adds (weighted average entry), reduces, closes,
    or flips (closes, then opens the remainder on the other side)."""
    if position is None or position.quantity == ZERO:
        opened = OpenPosition(
            _opens(fill.side), fill.quantity, fill.price, -fill.fee, fill.fee, fill.time
        )
        return FillOutcome(opened, None, -fill.fee)
    if _opens(fill.side) is position.side:
        quantity = position.quantity + fill.quantity
        entry = (position.notional + fill.quantity * fill.price) / quantity
        added = replace(
            position,
            quantity=quantity,
            entry_price=entry.quantize(PRICE_QUANTUM),
            realized_pnl=position.realized_pnl - fill.fee,
            fees=position.fees + fill.fee,
        )
        return FillOutcome(added, None, -fill.fee)
    closing = min(position.quantity, fill.quantity)
    share = closing / fill.quantity
    closing_fee = (fill.fee * share).quantize(PRICE_QUANTUM)
    realized = _gross(position.side, position.entry_price, fill.price, closing) - closing_fee
    remaining = position.quantity - closing
    after = replace(
        position,
        quantity=remaining,
        realized_pnl=position.realized_pnl + realized,
        fees=position.fees + closing_fee,
    )
    if remaining > ZERO:
        return FillOutcome(after, None, realized)
    leftover = fill.quantity - closing
    if leftover == ZERO:
        return FillOutcome(None, after, realized)
    opening_fee = fill.fee - closing_fee
    flipped = OpenPosition(
        _opens(fill.side), leftover, fill.price, -opening_fee, opening_fee, fill.time
    )
    return FillOutcome(flipped, after, realized - opening_fee)
