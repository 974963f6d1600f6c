"""Market-data answers shared by the spot and futures routes: parameters in, Binance's JSON
shapes out (numbers that Binance sends as strings are exact decimal strings)."""

from __future__ import annotations

from typing import Any

from petrosa.contracts.market import Interval
from petrosa.exchange.simulator import errors, funding, tape
from petrosa.exchange.simulator.candles import KlineQuery, Klines, klines
from petrosa.exchange.simulator.instruments import Contract, MarketKind
from petrosa.exchange.simulator.params import Params
from petrosa.exchange.simulator.text import column_text, padded_text
from petrosa.exchange.simulator.trades import AggTrades
from petrosa.exchange.simulator.venue import MarketProfile, Venue

LOOKUP_HOURS = tape.LOOKUP_WINDOW_MS // 3_600_000
FUNDING_DEFAULT_LIMIT = 100
FUNDING_MAX_LIMIT = 1_000
FUNDING_DECIMALS = 8
UTC_TIME_ZONES = frozenset({"0", "+0", "-0", "00:00", "+00:00", "-00:00", "0:00"})
"""Spot ``timeZone`` values the simulator serves (intervals are always read in UTC)."""


def _interval(text: str) -> Interval:
    try:
        return Interval(text)
    except ValueError:
        raise errors.invalid_interval() from None


def kline_rows(venue: Venue, profile: MarketProfile, params: Params) -> list[list[Any]]:
    """``GET .../klines``: 12-field arrays, oldest first; the last one may still be open."""
    symbol = params.symbol()
    interval_text = params.text("interval", required=True)
    start, end = params.integer("startTime"), params.integer("endTime")
    time_zone = params.text("timeZone")
    limit = params.limit(default=profile.default_kline_limit, maximum=profile.max_kline_limit)
    assert symbol is not None
    assert interval_text is not None
    interval = _interval(interval_text)
    if time_zone is not None and time_zone not in UTC_TIME_ZONES:
        raise errors.invalid_parameter("timeZone")
    market = venue.market(profile.kind, symbol)
    if start is not None and end is not None and start > end:
        if profile.rejects_reversed_range:
            raise errors.start_after_end()
        return []
    found = klines(market, KlineQuery(interval, start, end, limit), venue.now_ms())
    return kline_table(found, market.contract, profile)


def kline_table(found: Klines, rules: Contract, profile: MarketProfile) -> list[list[Any]]:
    """Klines as Binance's 12-field arrays (the REST rows; the kline stream reuses them)."""
    bars, width = found.bars, profile.pad_decimals
    price_dp, qty_dp, quote_dp = rules.price_decimals, rules.qty_decimals, rules.quote_decimals
    columns = zip(
        bars.start.tolist(),
        column_text(bars.open, price_dp, width),
        column_text(bars.high, price_dp, width),
        column_text(bars.low, price_dp, width),
        column_text(bars.close, price_dp, width),
        column_text(bars.volume, qty_dp, width),
        found.close_time.tolist(),
        column_text(bars.quote, quote_dp, width),
        bars.trades.tolist(),
        column_text(bars.volume_buy, qty_dp, width),
        column_text(bars.quote_buy, quote_dp, width),
        strict=True,
    )
    return [[*row, "0"] for row in columns]


def agg_trade_rows(venue: Venue, profile: MarketProfile, params: Params) -> list[dict[str, Any]]:
    """``GET .../aggTrades``: by ``fromId``, by time (less than an hour; one bound alone
    means the hour from or up to it), or the newest."""
    symbol = params.symbol()
    first_id = params.integer("fromId")
    start, end = params.integer("startTime"), params.integer("endTime")
    limit = params.limit(default=profile.default_trade_limit, maximum=profile.max_trade_limit)
    assert symbol is not None
    market = venue.market(profile.kind, symbol)
    if start is not None and end is not None and end - start >= tape.LOOKUP_WINDOW_MS:
        raise errors.lookup_too_long(LOOKUP_HOURS)
    now = venue.now_ms()
    if first_id is not None:
        trades = tape.from_id(market, first_id, now=now, limit=limit, start=start, end=end)
    elif start is not None or end is not None:
        widest = tape.LOOKUP_WINDOW_MS - 1
        lo = start if start is not None else (end or 0) - widest
        hi = end if end is not None else lo + widest
        trades = tape.between(market, lo, hi, now=now, limit=limit)
    else:
        trades = tape.recent(market, now=now, limit=limit)
    return agg_trade_objects(trades, market.contract, profile)


def agg_trade_objects(
    trades: AggTrades, rules: Contract, profile: MarketProfile
) -> list[dict[str, Any]]:
    """Aggregate trades as Binance's ``a p q f l T m [M]`` objects (REST rows and stream)."""
    width = profile.pad_decimals
    rows = zip(
        trades.id.tolist(),
        column_text(trades.price, rules.price_decimals, width),
        column_text(trades.qty, rules.qty_decimals, width),
        trades.first_trade_id.tolist(),
        trades.last_trade_id.tolist(),
        trades.time.tolist(),
        trades.buyer_maker.tolist(),
        strict=True,
    )
    keys = ("a", "p", "q", "f", "l", "T", "m")
    extra = {"M": True} if profile.best_match_flag else {}
    return [{**dict(zip(keys, row, strict=True)), **extra} for row in rows]


def funding_rows(venue: Venue, params: Params) -> list[dict[str, Any]]:
    """``GET /fapi/v1/fundingRate``: ascending; from ``startTime`` the first ``limit``,
    otherwise the newest ``limit`` up to ``endTime``; every symbol without ``symbol``."""
    symbol = params.symbol(required=False)
    start, end = params.integer("startTime"), params.integer("endTime")
    limit = params.limit(default=FUNDING_DEFAULT_LIMIT, maximum=FUNDING_MAX_LIMIT)
    symbols = [venue.instrument(symbol).symbol] if symbol is not None else list(venue.instruments)
    now = venue.now_ms()
    events = funding.select(venue.listing_ms, start=start, end=end, limit=limit, now=now)
    rows: list[tuple[int, str, dict[str, Any]]] = []
    for name in symbols:
        market = venue.market(MarketKind.FUTURES, name)
        rates = funding.funding_rates(market, events)
        marks = column_text(rates.mark, market.contract.price_decimals, FUNDING_DECIMALS)
        times, values = rates.time.tolist(), rates.rate.tolist()
        for time_ms, rate, mark in zip(times, values, marks, strict=True):
            body = {
                "symbol": name,
                "fundingTime": time_ms,
                "fundingRate": padded_text(rate, funding.RATE_DECIMALS, FUNDING_DECIMALS),
                "markPrice": mark,
            }
            rows.append((time_ms, name, body))
    rows.sort(key=lambda row: (row[0], row[1]))
    chosen = rows[:limit] if start is not None else rows[max(0, len(rows) - limit) :]
    return [body for _, _, body in chosen]
