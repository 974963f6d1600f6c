"""``BinanceClient``: Binance's public market data, parsed into petrosa's contracts."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar, cast

from petrosa.contracts import FundingRate, Interval, Kline, Trade
from petrosa.exchange.binance._core import BinanceCore
from petrosa.exchange.binance._errors import BinanceDecodingError
from petrosa.exchange.binance._markets import Endpoint, Market
from petrosa.exchange.binance._paging import (
    iter_agg_trade_pages,
    iter_funding_pages,
    iter_kline_pages,
)
from petrosa.exchange.binance._time import TimeBound, optional_ms, to_ms

TRADING_STATUS = "TRADING"
WEIGHT_LIMIT_TYPE = "REQUEST_WEIGHT"
MINUTE_INTERVAL = "MINUTE"

log = logging.getLogger("petrosa.exchange.binance")

Row = TypeVar("Row")
Model = TypeVar("Model")


class BinanceClient(BinanceCore):
    """Async client of one Binance market's public REST API, under a shared weight budget.

    ::

        async with BinanceClient("futures") as binance:  # BINANCE_FUTURES_API_URL
            async for page in binance.iter_klines("BTCUSDT", "1m", start, end):
                ...  # list[Kline], oldest first, every candle once

    One instance holds one connection pool; share it within an event loop. Clients of the
    same market and URL share one ``WeightBudget`` by default, so many concurrent tasks
    stay under the limit together. Errors: see ``petrosa.exchange.binance._errors``.
    """

    async def exchange_info(self) -> dict[str, Any]:
        """The market's trading rules and symbols (``/exchangeInfo``), as Binance sends it.

        The per-minute ``REQUEST_WEIGHT`` limit it publishes becomes the budget's limit, so
        a job that starts with ``exchange_info()`` or ``symbols()`` follows the exchange's
        real limit (a simulator's, a changed one) rather than the documented default.
        """
        body = await self._get(Endpoint.EXCHANGE_INFO, {})
        if not isinstance(body, dict):
            raise BinanceDecodingError("exchangeInfo did not answer a JSON object")
        limit = minute_weight_limit(body)
        if limit is not None and limit != self.budget.limit:
            log.info("%s: the exchange publishes a limit of %d/min", self.budget.name, limit)
            self.budget.adopt_limit(limit)
        return body

    async def symbols(self, *, trading_only: bool = True) -> list[str]:
        """The market's symbols, by default only those with status ``TRADING``."""
        entries = (await self.exchange_info()).get("symbols")
        if not isinstance(entries, list):
            raise BinanceDecodingError("exchangeInfo has no symbols list")
        return [
            str(entry["symbol"])
            for entry in entries
            if isinstance(entry, dict)
            and "symbol" in entry
            and (not trading_only or entry.get("status") == TRADING_STATUS)
        ]

    async def klines_raw(
        self,
        symbol: str,
        interval: Interval | str,
        *,
        start_time: TimeBound | None = None,
        end_time: TimeBound | None = None,
        limit: int | None = None,
    ) -> list[list[Any]]:
        """Binance's 12-field kline arrays; ``start_time``/``end_time`` filter open times,
        both inclusive, as on Binance. Without them the most recent klines come back.
        """
        params = _query(symbol, start_time, end_time, limit, interval=str(interval))
        body = await self._get(Endpoint.KLINES, params, limit=limit)
        if not isinstance(body, list) or not all(isinstance(row, list) for row in body):
            raise BinanceDecodingError("klines did not answer a list of arrays")
        return body

    async def klines(
        self,
        symbol: str,
        interval: Interval | str,
        *,
        start_time: TimeBound | None = None,
        end_time: TimeBound | None = None,
        limit: int | None = None,
    ) -> list[Kline]:
        """Klines as ``Kline`` models (see ``klines_raw`` for the parameters)."""
        rows = await self.klines_raw(
            symbol, interval, start_time=start_time, end_time=end_time, limit=limit
        )
        klines = _parse(rows, Kline.from_binance, "kline")
        self.stats.klines += len(klines)
        return klines

    async def agg_trades(
        self,
        symbol: str,
        *,
        from_id: int | None = None,
        start_time: TimeBound | None = None,
        end_time: TimeBound | None = None,
        limit: int | None = None,
    ) -> list[Trade]:
        """Aggregate trades from ``from_id``, or in a time range (both ends inclusive)."""
        params = _query(symbol, start_time, end_time, limit, fromId=from_id)
        body = await self._get(Endpoint.AGG_TRADES, params, limit=limit)
        trades = _parse(_objects(body, "aggTrades"), Trade.from_binance_agg, "aggTrade")
        self.stats.trades += len(trades)
        return trades

    async def funding_rates(
        self,
        symbol: str,
        *,
        start_time: TimeBound | None = None,
        end_time: TimeBound | None = None,
        limit: int | None = None,
    ) -> list[FundingRate]:
        """Funding-rate history (futures only), oldest first; both ends inclusive."""
        if self.market is not Market.FUTURES:
            raise ValueError("funding rates exist only on the futures market")
        params = _query(symbol, start_time, end_time, limit)
        body = await self._get(Endpoint.FUNDING_RATE, params, limit=limit)
        rates = _parse(_objects(body, "fundingRate"), FundingRate.from_binance, "funding rate")
        self.stats.funding_rates += len(rates)
        return rates

    async def depth(self, symbol: str, limit: int | None = None) -> dict[str, Any]:
        """The order book's top ``limit`` levels per side (``/depth``), as Binance sends it.

        ``{"lastUpdateId": int, "bids": [[price, qty], ...], "asks": [...]}`` with decimal
        strings, best prices first (futures adds ``E`` and ``T``). The raw body is the
        snapshot a local book is synchronised from, so it is returned unparsed; only its shape
        is checked. ``limit``: spot 1-5000 (default 100), futures 5, 10, 20, 50, 100, 500 or
        1000 (default 500); the weight grows with it (see ``_weights``).
        """
        body = await self._get(Endpoint.DEPTH, {"symbol": symbol, "limit": limit}, limit=limit)
        if not _is_depth(body):
            raise BinanceDecodingError("depth did not answer {lastUpdateId, bids, asks}")
        return cast(dict[str, Any], body)

    def iter_klines(
        self, symbol: str, interval: Interval | str, start: TimeBound, end: TimeBound
    ) -> AsyncIterator[list[Kline]]:
        """Pages of the klines opening in ``[start, end)``, each candle exactly once.

        Page sizes are the ones with the most candles per weight (spot 1000, futures 499),
        shrunk for the last page when fewer candles are left.
        """
        return iter_kline_pages(self, symbol, interval, to_ms(start), to_ms(end))

    def iter_agg_trades(
        self,
        symbol: str,
        start: TimeBound | None,
        end: TimeBound,
        *,
        from_id: int | None = None,
    ) -> AsyncIterator[list[Trade]]:
        """Pages of the aggregate trades in ``[start, end)``, each trade exactly once.

        With ``from_id`` (e.g. the last stored id + 1) the walk starts at that trade instead
        of at ``start``, which may then be None.
        """
        return iter_agg_trade_pages(self, symbol, optional_ms(start), to_ms(end), from_id=from_id)

    def iter_funding_rates(
        self, symbol: str, start: TimeBound, end: TimeBound
    ) -> AsyncIterator[list[FundingRate]]:
        """Pages of the funding-rate events in ``[start, end)`` (futures only)."""
        return iter_funding_pages(self, symbol, to_ms(start), to_ms(end))


def _query(
    symbol: str,
    start_time: TimeBound | None,
    end_time: TimeBound | None,
    limit: int | None,
    **extra: Any,
) -> dict[str, Any]:
    """Binance's query parameters of a ranged read (None values are left out when sent)."""
    return {
        "symbol": symbol,
        **extra,
        "startTime": optional_ms(start_time),
        "endTime": optional_ms(end_time),
        "limit": limit,
    }


def minute_weight_limit(exchange_info: dict[str, Any]) -> int | None:
    """The ``REQUEST_WEIGHT`` limit per one minute in an exchangeInfo body, if it has one."""
    limits = exchange_info.get("rateLimits")
    if not isinstance(limits, list):
        return None
    for entry in limits:
        if (
            isinstance(entry, dict)
            and entry.get("rateLimitType") == WEIGHT_LIMIT_TYPE
            and entry.get("interval") == MINUTE_INTERVAL
            and entry.get("intervalNum") == 1
            and isinstance(entry.get("limit"), int)
            and entry["limit"] > 0
        ):
            return int(entry["limit"])
    return None


def _is_depth(body: Any) -> bool:
    """Whether ``body`` has the shape of an order-book snapshot."""
    return (
        isinstance(body, dict)
        and isinstance(body.get("lastUpdateId"), int)
        and not isinstance(body["lastUpdateId"], bool)
        and all(
            isinstance(body.get(side), list)
            and all(isinstance(level, list) and len(level) == 2 for level in body[side])
            for side in ("bids", "asks")
        )
    )


def _objects(body: Any, endpoint: str) -> list[dict[str, Any]]:
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise BinanceDecodingError(f"{endpoint} did not answer a list of objects")
    return body


def _parse(rows: list[Row], parse: Callable[[Row], Model], what: str) -> list[Model]:
    """Each row through ``parse``; a malformed row is a ``BinanceDecodingError``."""
    try:
        return [parse(row) for row in rows]
    except (ValueError, KeyError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
        raise BinanceDecodingError(f"Binance sent an unparseable {what}: {exc}") from exc
