"""Stop-loss / take-profit orders: placed after a confirmed entry fill, applied by the leader
once they fill on the exchange, cancelled after the position they protect is closed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from decimal import Decimal

from petrosa.contracts.signals import Signal
from petrosa.contracts.trading import Position, PositionSide
from petrosa.coordination import Locks
from petrosa.exchange.trading import (
    InvalidOrder,
    OrderFill,
    OrderRejected,
    OrderSide,
    ProtectiveKind,
    SymbolFilters,
    TradingExchange,
    UnknownOrder,
    derive_client_order_id,
)
from petrosa.tradeengine.book import Book
from petrosa.tradeengine.planning import HUNDRED
from petrosa.tradeengine.settings import TradeEngineSettings

log = logging.getLogger(__name__)


async def with_fees(exchange: TradingExchange, order: OrderFill) -> OrderFill:
    """``order`` with the commission and realized P&L of its fills."""
    fills = await exchange.fills(order.symbol, order.order_id)
    return replace(
        order,
        commission=sum((f.commission for f in fills), Decimal(0)),
        realized_pnl=sum((f.realized_pnl for f in fills), Decimal(0)),
    )


class Protection:
    def __init__(
        self,
        settings: TradeEngineSettings,
        exchange: TradingExchange,
        book: Book,
        locks: Locks,
    ) -> None:
        self.settings = settings
        self.exchange = exchange
        self.book = book
        self.locks = locks

    async def place(
        self, signal: Signal, side: PositionSide, order: OrderFill, filters: SymbolFilters
    ) -> list[str]:
        """Stop-loss / take-profit orders for a confirmed entry fill, on the side that closes
        a ``side`` position, placed together; returns the client ids of those placed."""
        if not order.is_filled or not wants_protection(signal):
            return []
        closing = OrderSide.closing(side)
        wanted = [
            (kind, filters.round_price(price), derive_client_order_id(signal.id, kind.value))
            for kind, price in protective_prices(signal, side, order.avg_price)
        ]
        outcomes = await asyncio.gather(
            *(
                self.exchange.place_protective_order(
                    signal.symbol, closing, kind, price, client_order_id=client_id
                )
                for kind, price, client_id in wanted
            ),
            return_exceptions=True,
        )
        placed: list[str] = []
        for (kind, _, client_id), outcome in zip(wanted, outcomes, strict=True):
            if isinstance(outcome, (InvalidOrder, OrderRejected)):
                # The entry stands; a missing stop is reported, not a reason to undo it.
                log.warning(
                    "%s %s for %s not placed: %s", signal.id, kind.value, signal.symbol, outcome
                )
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                placed.append(client_id)
        return placed

    async def protect_resumed(self, signal: Signal, order: OrderFill, token: int) -> None:
        """Stop-loss / take-profit after a confirmed entry fill, for a resumed decision: the
        position as stored now, its filters read again."""
        if not order.is_filled or not wants_protection(signal):
            return
        position = await self.book.open_position(signal.symbol)
        if position is None:
            return
        filters = await self.exchange.symbol_filters(signal.symbol)
        placed = await self.place(signal, position.side, order, filters)
        if placed:
            await self.book.add_protection(position, placed, fence=token)

    async def cancel(self, symbol: str, client_order_ids: list[str]) -> None:
        """Cancel resting orders by client id; those already filled or gone are skipped."""

        async def cancel_one(client_id: str) -> None:
            with contextlib.suppress(UnknownOrder):
                await self.exchange.cancel_order(symbol, client_id)

        await asyncio.gather(*(cancel_one(client_id) for client_id in client_order_ids))

    async def cancel_after_close(self, symbol: str) -> None:
        """After a close, the position's resting stop-loss/take-profit orders go too."""
        if await self.book.open_position(symbol) is not None:
            return
        for resting in await self.exchange.open_orders(symbol):
            if resting.close_position or resting.reduce_only:
                with contextlib.suppress(UnknownOrder):  # it filled or went meanwhile
                    await self.exchange.cancel_order(symbol, resting.client_order_id)

    async def settle(self, position: Position) -> int:
        """Apply stop-loss / take-profit orders of ``position`` that filled on the exchange
        (leader duty); returns how many were applied. One look at the symbol's resting
        orders per round; only orders no longer resting are looked up, under the symbol's
        lock like any decision."""
        symbol, protective = position.symbol, position.metadata.get("protective") or []
        if not protective:
            return 0
        resting = {order.client_order_id for order in await self.exchange.open_orders(symbol)}
        gone = [client_id for client_id in protective if client_id not in resting]
        if not gone:
            return 0
        applied = 0
        async with self.locks.hold(
            f"symbol.{symbol}", self.settings.replica, self.settings.lock_ttl_s,
            wait=self.settings.lock_wait_s,
        ) as held:  # fmt: skip
            for client_id in gone:
                order = await self.exchange.get_order(symbol, client_id)
                if order is None or not order.is_filled:
                    continue
                held.ensure_valid()
                filled = (
                    order if order.commission is not None else await with_fees(self.exchange, order)
                )
                await self.book.apply(position.strategy_id, symbol, filled, fence=held.token)
                applied += 1
            if applied:
                await self.cancel_after_close(symbol)
        return applied


def wants_protection(signal: Signal) -> bool:
    levels = (signal.stop_loss, signal.stop_loss_pct, signal.take_profit, signal.take_profit_pct)
    return any(level is not None for level in levels)


def protective_prices(
    signal: Signal, side: PositionSide, entry: Decimal
) -> list[tuple[ProtectiveKind, Decimal]]:
    """Absolute stop/take prices: below entry for a long's stop, above for a short's."""
    sign = Decimal(1) if side is PositionSide.LONG else Decimal(-1)
    prices: list[tuple[ProtectiveKind, Decimal]] = []
    if signal.stop_loss is not None:
        prices.append((ProtectiveKind.STOP_LOSS, signal.stop_loss))
    elif signal.stop_loss_pct is not None:
        prices.append(
            (ProtectiveKind.STOP_LOSS, entry * (1 - sign * signal.stop_loss_pct / HUNDRED))
        )
    if signal.take_profit is not None:
        prices.append((ProtectiveKind.TAKE_PROFIT, signal.take_profit))
    elif signal.take_profit_pct is not None:
        prices.append(
            (ProtectiveKind.TAKE_PROFIT, entry * (1 + sign * signal.take_profit_pct / HUNDRED))
        )
    return prices
