"""``BinanceFuturesTrading``: the trading port on Binance USD-M futures, one-way mode.

Placing an order, step by step::

    round the quantity down to the step; check min qty, max qty, min notional (at the mark
    price; reduce-only orders are exempt)                       ─► trading.InvalidOrder
    GET the order by client id: known already?                  ─► it, duplicate=True
    POST it (newOrderRespType=RESULT)
      ├── -4116 duplicate id                                    ─► the existing order,
      │                                                             duplicate=True
      ├── no answer (timeout, dropped connection, 5xx): it may exist — look it up by client
      │   id (a few times, spaced); found ─► it; not found ─► send it again, same client id
      └── answered ─► the order; once filled, its fees and realized P&L from ``userTrades``

Market orders go to ``/fapi/v1/order``. Stop-loss and take-profit orders are conditional:
Binance takes them only as algo orders (``/fapi/v1/algoOrder``, ``clientAlgoId`` = the client
order id; ``/fapi/v1/order`` refuses them with -4120), placed the same way. So the port's
order methods cover both kinds::

    get_order     GET /fapi/v1/order by client id; unknown (-2013) ─► GET /fapi/v1/algoOrder:
                  waiting ─► it (order_id = its algoId); fired ─► GET its actual order: that
                  order's id, status and fill under the algo order's client id
    cancel_order  DELETE /fapi/v1/algoOrder (the only orders that rest); unknown (-2011) ─►
                  DELETE /fapi/v1/order
    open_orders   /fapi/v1/openOrders and /fapi/v1/openAlgoOrders, together

A market order's own placement never looks at algo orders: no extra request where latency
counts.

Reads are retried like the market-data client's; a -1021 re-measures the server clock and
sends once more. Weights come out of the budget shared with every client of the same URL.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx

from petrosa.exchange.binance._budget import WeightBudget
from petrosa.exchange.binance._client import minute_weight_limit
from petrosa.exchange.binance._config import DEFAULT_TIMEOUT, Clock, RetryPolicy
from petrosa.exchange.binance._errors import (
    BinanceServerError,
    BinanceTransportError,
    InvalidSymbolError,
)
from petrosa.exchange.binance._signing import Param
from petrosa.exchange.binance._trading_core import DEFAULT_RECV_WINDOW_MS, SignedCore
from petrosa.exchange.binance._trading_endpoints import (
    ACCOUNT,
    CANCEL_ALGO_ORDER,
    CANCEL_ORDER,
    EXCHANGE_INFO,
    LEVERAGE,
    NEW_ALGO_ORDER,
    NEW_ORDER,
    OPEN_ALGO_ORDERS,
    OPEN_ORDERS,
    POSITION_RISK,
    PREMIUM_INDEX,
    QUERY_ALGO_ORDER,
    QUERY_ORDER,
    USER_TRADES,
    TradingEndpoint,
)
from petrosa.exchange.binance._trading_errors import (
    DuplicateClientOrderIdError,
    UnknownOrderError,
)
from petrosa.exchange.binance._trading_parse import (
    AlgoOrder,
    account_snapshot,
    algo_order,
    fill,
    objects,
    order_fill,
    parsed,
    position,
    symbol_filters,
)
from petrosa.exchange.trading import (
    CLIENT_ORDER_ID_PATTERN,
    AccountSnapshot,
    ExchangePosition,
    Fill,
    InvalidOrder,
    InvalidOrderReason,
    OrderFill,
    OrderSide,
    OrderStatus,
    OrderType,
    ProtectiveKind,
    SymbolFilters,
)
from petrosa.resilience import RandomUnit, Sleep

log = logging.getLogger("petrosa.exchange.binance")

Lookup = Callable[[], Awaitable[OrderFill | None]]
"""Finds an order by the client id it was placed with (None: the exchange has none)."""

TESTNET_URL = "https://testnet.binancefuture.com"
PRODUCTION_URL = "https://fapi.binance.com"
ONE_WAY_POSITION_SIDE = "BOTH"
CONDITIONAL_ALGO_TYPE = "CONDITIONAL"
RESULT_RESPONSE = "RESULT"
DEFAULT_MARGIN_ASSET = "USDT"
DEFAULT_WORKING_TYPE = "CONTRACT_PRICE"
DEFAULT_FILTERS_TTL_S = 3_600.0
"""How long exchangeInfo's filters are trusted before they are fetched again."""
DEFAULT_LOOKUP_DELAYS_S: tuple[float, ...] = (0.0, 0.5, 1.5)
"""Waits before each lookup of an order whose placement got no answer (it may land late)."""
DEFAULT_PLACEMENT_ATTEMPTS = 3
DEFAULT_SETTLE_POLLS = 5
"""Lookups of a market order answered as NEW (or of fills not yet listed) before giving up."""
SETTLE_POLL_S = 0.2
_CLIENT_ORDER_ID_RE = re.compile(CLIENT_ORDER_ID_PATTERN)
_INVALID_SYMBOL = -1121
_BAD_REQUEST = 400


class BinanceFuturesTrading(SignedCore):
    """Trading on Binance USD-M futures (testnet by default) through the trading port.

    ::

        async with BinanceFuturesTrading(key, secret) as exchange:  # testnet
            order = await exchange.place_market_order(
                "BTCUSDT", OrderSide.BUY, Decimal("0.002"), client_order_id="sig-42-open"
            )
            order.avg_price, order.commission

    ``base_url`` points it elsewhere (the simulator: ``http://127.0.0.1:8100``); without
    it, ``testnet=False`` means production, ``https://fapi.binance.com``. Like
    ``BinanceClient`` it is a ``BinanceCore``: ``budget``, ``stats``, ``close()``, and
    ``transport``, ``clock``, ``sleep`` and ``random`` for tests.
    """

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        base_url: str | None = None,
        testnet: bool = True,
        recv_window_ms: int | None = DEFAULT_RECV_WINDOW_MS,
        margin_asset: str = DEFAULT_MARGIN_ASSET,
        working_type: str = DEFAULT_WORKING_TYPE,
        filters_ttl_s: float = DEFAULT_FILTERS_TTL_S,
        lookup_delays_s: Sequence[float] = DEFAULT_LOOKUP_DELAYS_S,
        placement_attempts: int = DEFAULT_PLACEMENT_ATTEMPTS,
        weight_budget: WeightBudget | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        random: RandomUnit | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        sync_clock: bool = True,
    ) -> None:
        if placement_attempts < 1:
            raise ValueError("placement_attempts must be at least 1")
        url = base_url if base_url is not None else (TESTNET_URL if testnet else PRODUCTION_URL)
        super().__init__(
            api_key,
            api_secret,
            base_url=url,
            recv_window_ms=recv_window_ms,
            weight_budget=weight_budget,
            transport=transport,
            clock=clock,
            sleep=sleep,
            random=random,
            retry=retry,
            timeout=timeout,
            sync_clock=sync_clock,
        )
        self._margin_asset = margin_asset
        self._working_type = working_type
        self._filters_ttl_s = filters_ttl_s
        self._lookup_delays_s = tuple(lookup_delays_s)
        self._placement_attempts = placement_attempts
        self._filters: dict[str, SymbolFilters] = {}
        self._filters_at: float | None = None

    # -- market facts -------------------------------------------------------------------

    async def symbol_filters(self, symbol: str) -> SymbolFilters:
        """The symbol's filters from exchangeInfo (cached for ``filters_ttl_s``)."""
        now = self._clock()
        if self._filters_at is None or now - self._filters_at > self._filters_ttl_s:
            body = await self._send(EXCHANGE_INFO, [])
            self._filters = parsed(symbol_filters, body, "exchangeInfo")
            self._filters_at = now
            limit = minute_weight_limit(body) if isinstance(body, dict) else None
            if limit is not None and limit != self.budget.limit:
                self.budget.adopt_limit(limit)
        found = self._filters.get(symbol)
        if found is None:
            raise InvalidSymbolError(
                f"{symbol} is not listed on {self.base_url}",
                status=_BAD_REQUEST,
                code=_INVALID_SYMBOL,
                msg="Invalid symbol.",
            )
        return found

    async def mark_price(self, symbol: str) -> Decimal:
        """``markPrice`` of ``/fapi/v1/premiumIndex``."""
        body = await self._send(PREMIUM_INDEX, [("symbol", symbol)])
        return parsed(lambda b: Decimal(str(b["markPrice"])), body, "premiumIndex")

    async def set_leverage(self, symbol: str, leverage: int) -> int:
        """Set the symbol's initial leverage (1-125); returns the leverage in force."""
        body = await self._send(LEVERAGE, [("symbol", symbol), ("leverage", leverage)])
        return parsed(lambda b: int(b["leverage"]), body, "leverage")

    # -- orders -------------------------------------------------------------------------

    async def place_market_order(
        self,
        symbol: str,
        side: OrderSide,
        quantity: Decimal,
        *,
        client_order_id: str,
        reduce_only: bool = False,
        mark_price: Decimal | None = None,
        first_attempt: bool = False,
    ) -> OrderFill:
        """Buy or sell at market; ``quantity`` is rounded down to the step first.

        A client id already used returns that order (marked duplicate) instead of placing
        a second one: it is looked up first, unless ``first_attempt`` says it cannot exist.
        """
        _check_client_order_id(client_order_id)
        filters = await self.symbol_filters(symbol)
        price = mark_price
        if price is None and not reduce_only:
            price = await self.mark_price(symbol)
        size = filters.order_quantity(quantity, price, reduce_only=reduce_only)
        params: list[tuple[str, Param]] = [
            ("symbol", symbol),
            ("side", OrderSide(side).value),
            ("positionSide", ONE_WAY_POSITION_SIDE),
            ("type", OrderType.MARKET.value),
            ("quantity", size),
            ("reduceOnly", True if reduce_only else None),
            ("newClientOrderId", client_order_id),
            ("newOrderRespType", RESULT_RESPONSE),
        ]
        order = await self._place(
            NEW_ORDER,
            params,
            lambda: self._regular_order(symbol, client_order_id),
            lambda body: parsed(order_fill, body, "order"),
            look_up_first=not first_attempt,
        )
        if not order.duplicate:
            order = await self._settled(order)
        return await self._with_fees(order)

    async def place_protective_order(
        self,
        symbol: str,
        side: OrderSide,
        kind: ProtectiveKind,
        stop_price: Decimal,
        *,
        client_order_id: str,
        close_position: bool = True,
        quantity: Decimal | None = None,
    ) -> OrderFill:
        """A ``STOP_MARKET`` or ``TAKE_PROFIT_MARKET`` algo order triggered at ``stop_price``
        (to the nearest tick): closes the whole position, or reduces it by ``quantity``."""
        _check_client_order_id(client_order_id)
        if close_position == (quantity is not None):
            raise ValueError("give a quantity exactly when close_position is False")
        filters = await self.symbol_filters(symbol)
        size = None if quantity is None else filters.order_quantity(quantity, reduce_only=True)
        params: list[tuple[str, Param]] = [
            ("algoType", CONDITIONAL_ALGO_TYPE),
            ("symbol", symbol),
            ("side", OrderSide(side).value),
            ("positionSide", ONE_WAY_POSITION_SIDE),
            ("type", ProtectiveKind(kind).order_type.value),
            ("triggerPrice", filters.round_price(stop_price)),
            ("closePosition", True if close_position else None),
            ("quantity", size),
            ("reduceOnly", None if close_position else True),
            ("workingType", self._working_type),
            ("clientAlgoId", client_order_id),
        ]
        return await self._place(
            NEW_ALGO_ORDER,
            params,
            lambda: self._algo_order(symbol, client_order_id),
            lambda body: parsed(algo_order, body, "algo order").order,
        )

    async def get_order(
        self, symbol: str, client_order_id: str, *, with_fees: bool = True
    ) -> OrderFill | None:
        """The order (or algo order) with this client id, with fees once filled, or None."""
        order = await self._regular_order(symbol, client_order_id)
        if order is None:
            order = await self._algo_order(symbol, client_order_id)
        if order is None or not with_fees:
            return order
        return await self._with_fees(order)

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderFill:
        """Cancel a waiting algo order or an open order; ``UnknownOrderError`` when neither
        is. A cancel whose answer was lost is checked by looking the order up, then sent
        again if needed."""
        params: list[tuple[str, Param]] = [("clientAlgoId", client_order_id)]
        try:
            return await self._cancel(
                CANCEL_ALGO_ORDER, params, lambda: self._algo_order(symbol, client_order_id)
            )
        except UnknownOrderError:
            pass  # not a waiting algo order: a regular one, if any
        params = [("symbol", symbol), ("origClientOrderId", client_order_id)]
        return await self._cancel(
            CANCEL_ORDER, params, lambda: self._regular_order(symbol, client_order_id)
        )

    async def open_orders(self, symbol: str | None = None) -> list[OrderFill]:
        """Open orders and waiting algo orders of ``symbol``, or of every symbol (weight 40
        each)."""
        params: list[tuple[str, Param]] = [("symbol", symbol)]
        regular, algo = await asyncio.gather(
            self._send(OPEN_ORDERS, params), self._send(OPEN_ALGO_ORDERS, params)
        )
        orders = [parsed(order_fill, item, "order") for item in objects(regular, "openOrders")]
        waiting = [
            parsed(algo_order, item, "algo order") for item in objects(algo, "openAlgoOrders")
        ]
        return orders + [a.order for a in waiting]

    async def fills(self, symbol: str, order_id: int) -> list[Fill]:
        """The trades of one order, with commission and realized P&L."""
        body = await self._send(USER_TRADES, [("symbol", symbol), ("orderId", order_id)])
        return [parsed(fill, item, "userTrades") for item in objects(body, "userTrades")]

    # -- account ------------------------------------------------------------------------

    async def positions(self) -> list[ExchangePosition]:
        """Every non-zero position (``/fapi/v3/positionRisk``)."""
        body = await self._send(POSITION_RISK, [])
        rows = [parsed(position, item, "position") for item in objects(body, "positionRisk")]
        return [row for row in rows if row.quantity != 0]

    async def account(self) -> AccountSnapshot:
        """Wallet, margin balance (equity) and available balance in the margin asset."""
        body = await self._send(ACCOUNT, [])
        return parsed(lambda b: account_snapshot(b, self._margin_asset), body, "account")

    # -- placement ----------------------------------------------------------------------

    async def _place(
        self,
        endpoint: TradingEndpoint,
        params: Sequence[tuple[str, Param]],
        find: Lookup,
        answer: Callable[[Any], OrderFill],
        *,
        look_up_first: bool = True,
    ) -> OrderFill:
        """Place once: an existing order with the client id (``find``) is returned, marked
        duplicate; a placement without an answer is looked up before it is ever sent
        again."""
        if look_up_first:
            existing = await find()
            if existing is not None:
                return replace(existing, duplicate=True)
        for attempt in range(1, self._placement_attempts + 1):
            try:
                return answer(await self._send(endpoint, params))
            except DuplicateClientOrderIdError:
                found = await find()
                if found is None:
                    raise
                return replace(found, duplicate=True)
            except (BinanceTransportError, BinanceServerError) as error:
                log.warning(
                    "%s %s got no answer: %s", endpoint.method, endpoint.path, error.message
                )
                found = await self._look_up(find)
                if found is not None:
                    return found
                if attempt == self._placement_attempts:
                    raise
                await self._pause(self._backoff_s(attempt))
        raise AssertionError("the last attempt returns or raises")

    async def _cancel(
        self, endpoint: TradingEndpoint, params: Sequence[tuple[str, Param]], find: Lookup
    ) -> OrderFill:
        """Cancel once: a cancel without an answer is checked with ``find`` (canceled:
        done; no longer open: ``UnknownOrderError``; still open: send it again). The
        canceled order is ``find``'s once the cancel is answered."""
        for attempt in range(1, self._placement_attempts + 1):
            try:
                await self._send(endpoint, params)
                break
            except (BinanceTransportError, BinanceServerError):
                found = await find()
                if found is None or attempt == self._placement_attempts:
                    raise
                if found.status is OrderStatus.CANCELED:
                    return found
                if not found.status.is_open:
                    raise UnknownOrderError(
                        f"{found.client_order_id} is {found.status.value}, no longer open",
                        status=_BAD_REQUEST,
                    ) from None
        canceled = await find()
        if canceled is None:
            raise UnknownOrderError(
                f"{endpoint.path}: canceled, then not found", status=_BAD_REQUEST
            )
        return canceled

    async def _look_up(self, find: Lookup) -> OrderFill | None:
        """The order after a placement without an answer, if it arrived."""
        for delay in self._lookup_delays_s:
            if delay > 0:
                await self._pause(delay)
            found = await find()
            if found is not None:
                return found
        return None

    async def _regular_order(self, symbol: str, client_order_id: str) -> OrderFill | None:
        """The order of ``/fapi/v1/order`` with this client id, or None."""
        try:
            body = await self._send(
                QUERY_ORDER, [("symbol", symbol), ("origClientOrderId", client_order_id)]
            )
        except UnknownOrderError:
            return None
        return parsed(order_fill, body, "order")

    async def _algo_order(self, symbol: str, client_algo_id: str) -> OrderFill | None:
        """The algo order of ``symbol`` with this client id, or None; once it fired, as the
        market order it placed (looked up by that order's id)."""
        try:
            body = await self._send(QUERY_ALGO_ORDER, [("clientAlgoId", client_algo_id)])
        except UnknownOrderError:
            return None
        found: AlgoOrder = parsed(algo_order, body, "algo order")
        if found.order.symbol != symbol:
            return None
        if found.actual_order_id is None:
            return found.order
        actual = await self._send(
            QUERY_ORDER, [("symbol", symbol), ("orderId", found.actual_order_id)]
        )
        return found.placed_as(parsed(order_fill, actual, "order"))

    async def _settled(self, order: OrderFill) -> OrderFill:
        """A market order answered while still NEW, looked up until it is not."""
        for _ in range(DEFAULT_SETTLE_POLLS):
            if not order.status.is_open:
                return order
            await self._pause(SETTLE_POLL_S)
            found = await self._regular_order(order.symbol, order.client_order_id)
            order = found if found is not None else order
        return order

    async def _with_fees(self, order: OrderFill) -> OrderFill:
        """``order`` with the commission and realized P&L of its fills, once all are listed."""
        if order.executed_qty == 0:
            return order
        for poll in range(DEFAULT_SETTLE_POLLS):
            trades = await self.fills(order.symbol, order.order_id)
            if sum((t.quantity for t in trades), Decimal(0)) == order.executed_qty:
                assets = {t.commission_asset for t in trades}
                return replace(
                    order,
                    commission=sum((t.commission for t in trades), Decimal(0)),
                    commission_asset=assets.pop() if len(assets) == 1 else None,
                    realized_pnl=sum((t.realized_pnl for t in trades), Decimal(0)),
                )
            if poll < DEFAULT_SETTLE_POLLS - 1:
                await self._pause(SETTLE_POLL_S)
        log.warning("fills of order %s are not all listed yet", order.client_order_id)
        return order


def _check_client_order_id(client_order_id: str) -> None:
    if not _CLIENT_ORDER_ID_RE.fullmatch(client_order_id):
        raise InvalidOrder(
            InvalidOrderReason.CLIENT_ORDER_ID_INVALID,
            f"client order id {client_order_id!r} must match {CLIENT_ORDER_ID_PATTERN}",
        )
