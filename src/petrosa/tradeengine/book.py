"""Positions and realized P&L written through the Data Manager, each fill applied once.

A fill is applied with one position write that also records the fill's order id in the
position's ``metadata.fills``; a replica resuming after a crash looks there first, so a fill
is never applied twice. Its realized P&L is recorded under the event id
``fill:<symbol>:<order id>`` (Binance numbers orders per symbol), which the Data Manager
counts once however often it is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from petrosa.client import DataManagerClient
from petrosa.contracts.trading import (
    Position,
    PositionIn,
    PositionStatus,
    RealizedPnlIn,
)
from petrosa.exchange.trading import OrderFill
from petrosa.tradeengine.positions import Fill, FillOutcome, OpenPosition, apply_fill

RECENT_POSITIONS = 5
"""How many of a symbol's newest positions are searched for an already applied fill."""


def fill_of(order: OrderFill) -> Fill:
    return Fill(
        order_id=order.order_id,
        side=order.side,
        quantity=order.executed_qty,
        price=order.avg_price,
        fee=order.commission or Decimal(0),
        time=order.update_time,
    )


def as_open(position: Position) -> OpenPosition:
    return OpenPosition(
        side=position.side,
        quantity=position.quantity,
        entry_price=position.entry_price,
        realized_pnl=position.realized_pnl,
        fees=position.fees,
        opened_at=position.opened_at,
    )


def _as_the_exchange_booked(outcome: FillOutcome, order: OrderFill) -> FillOutcome:
    """Prefer the P&L the exchange itself realized (its rounding of the averaged entry is
    the one the wallet got) when it reports it; our arithmetic otherwise."""
    if order.realized_pnl is None or order.commission is None:
        return outcome
    booked = order.realized_pnl - order.commission
    shift = booked - outcome.realized
    position = outcome.position
    closed = outcome.closed
    if closed is not None:
        closed = replace(closed, realized_pnl=closed.realized_pnl + shift)
    elif position is not None:
        position = replace(position, realized_pnl=position.realized_pnl + shift)
    return FillOutcome(position, closed, booked)


class Book:
    def __init__(self, store: DataManagerClient) -> None:
        self.store = store

    async def open_position(self, symbol: str, strategy_id: str | None = None) -> Position | None:
        positions = await self.store.get_open_positions(symbol=symbol)
        return positions[0] if positions else None

    async def apply(
        self, strategy_id: str, symbol: str, order: OrderFill, *, fence: int
    ) -> Decimal:
        """Apply a filled order once, whatever happened before (a resumed decision, a
        protective order found filled); returns the realized P&L it recorded. ``fence`` is
        the symbol lock's token: a write under an older token than the position's last one
        is refused by the Data Manager (``StaleFenceError``)."""
        recent = await self.store.list_positions(symbol=symbol, limit=RECENT_POSITIONS)
        if any(order.order_id in p.metadata.get("fills", []) for p in recent):
            realized = _realized_of(recent, order)
            await self.store.record_realized_pnl(_pnl_event(symbol, order, realized))
            return realized
        current = next((p for p in recent if p.status is PositionStatus.OPEN), None)
        return await self.apply_new(strategy_id, order, current, fence=fence)

    async def apply_new(
        self,
        strategy_id: str,
        order: OrderFill,
        current: Position | None,
        *,
        fence: int,
        protective: list[str] | None = None,
    ) -> Decimal:
        """Apply a fill known not to be applied yet onto ``current`` (the symbol's open
        position, read under its lock): one position write and one P&L event, sent
        together — each is idempotent, so a crash between them is repaired by
        :meth:`apply` on the retry. ``protective`` records resting stop-loss/take-profit
        client ids with the same write."""
        outcome = _as_the_exchange_booked(
            apply_fill(None if current is None else as_open(current), fill_of(order)), order
        )
        writes: list[Awaitable[object]] = [
            self.store.record_realized_pnl(_pnl_event(order.symbol, order, outcome.realized))
        ]
        if outcome.closed is not None and current is not None:
            writes.append(
                self._write(
                    current.position_id, current, outcome.closed, order, closed=True, fence=fence
                )
            )
        elif outcome.position is not None:
            position_id = (
                current.position_id if current is not None else f"{order.symbol}-{order.order_id}"
            )
            writes.append(
                self._write(
                    position_id,
                    current,
                    outcome.position,
                    order,
                    closed=False,
                    strategy_id=strategy_id,
                    protective=protective,
                    fence=fence,
                )
            )
        await asyncio.gather(*writes)
        return outcome.realized

    async def mark(self, position: Position, mark_price: Decimal, *, fence: int) -> bool:
        """Store the open position's unrealized P&L at ``mark_price``; False when it was
        already the stored value (nothing written)."""
        unrealized = as_open(position).unrealized(mark_price)
        if unrealized == position.unrealized_pnl:
            return False
        fields = position.model_dump(exclude={"position_id", "updated_at", "unrealized_pnl"})
        await self.store.upsert_position(
            position.position_id, PositionIn(**fields, unrealized_pnl=unrealized), fence=fence
        )
        return True

    async def add_protection(
        self, position: Position, client_order_ids: list[str], *, fence: int
    ) -> None:
        """Remember the position's resting stop-loss / take-profit orders (for the leader)."""
        metadata = dict(position.metadata)
        metadata["protective"] = sorted({*metadata.get("protective", []), *client_order_ids})
        fields = position.model_dump(exclude={"position_id", "updated_at", "metadata"})
        await self.store.upsert_position(
            position.position_id, PositionIn(**fields, metadata=metadata), fence=fence
        )

    async def _write(
        self,
        position_id: str,
        current: Position | None,
        state: OpenPosition,
        order: OrderFill,
        *,
        closed: bool,
        strategy_id: str | None = None,
        protective: list[str] | None = None,
        fence: int,
    ) -> None:
        metadata: dict[str, Any] = dict(current.metadata) if current is not None else {}
        fills = [*metadata.get("fills", []), order.order_id]
        previous = current.realized_pnl if current is not None else Decimal(0)
        realized = dict(metadata.get("realized", {}))
        realized[str(order.order_id)] = format(state.realized_pnl - previous, "f")
        metadata.update(fills=fills, realized=realized)
        if protective:
            metadata["protective"] = sorted({*metadata.get("protective", []), *protective})
        await self.store.upsert_position(
            position_id,
            PositionIn(
                strategy_id=current.strategy_id if current is not None else strategy_id or "engine",
                symbol=order.symbol,
                side=state.side,
                status=PositionStatus.CLOSED if closed else PositionStatus.OPEN,
                quantity=state.quantity if not closed or current is None else current.quantity,
                entry_price=state.entry_price,
                exit_price=order.avg_price if closed else None,
                realized_pnl=state.realized_pnl,
                unrealized_pnl=Decimal(0) if closed else state.unrealized(order.avg_price),
                fees=state.fees,
                opened_at=state.opened_at,
                closed_at=order.update_time if closed else None,
                metadata=metadata,
            ),
            fence=fence,
        )


def _pnl_event(symbol: str, order: OrderFill, realized: Decimal) -> RealizedPnlIn:
    return RealizedPnlIn(
        event_id=f"fill:{symbol}:{order.order_id}",
        amount=realized,
        occurred_at=order.update_time,
        symbol=symbol,
    )


def _realized_of(recent: list[Position], order: OrderFill) -> Decimal:
    """What an already applied fill realized, as its position recorded it."""
    for position in recent:
        realized: dict[str, str] = position.metadata.get("realized", {})
        if str(order.order_id) in realized:
            return Decimal(realized[str(order.order_id)])
    return Decimal(0)
