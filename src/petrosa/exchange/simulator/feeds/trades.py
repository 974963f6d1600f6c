"""``<symbol>@aggTrade`` and spot's ``<symbol>@trade``: every trade after the feed opened,
in id order, each once, with the event time equal to the trade time.

Aggregate trades are the REST ``/aggTrades`` rows (``marketdata.agg_trade_objects``) with
the event header in front; individual trades split them (``individual``).
"""

from __future__ import annotations

from petrosa.exchange.binance.streams import Stream
from petrosa.exchange.simulator.feeds.base import (
    MAX_EVENTS_PER_POLL,
    encode,
    market_kind,
    profile_of,
)
from petrosa.exchange.simulator.feeds.individual import individual_trades
from petrosa.exchange.simulator.feeds.tape_reader import TapeReader
from petrosa.exchange.simulator.marketdata import agg_trade_objects
from petrosa.exchange.simulator.text import column_text
from petrosa.exchange.simulator.venue import Venue


class AggTradeFeed:
    """Aggregate trades of one symbol."""

    def __init__(self, venue: Venue, stream: Stream, now_ms: int) -> None:
        self.stream = stream
        self._market = venue.market(market_kind(stream), stream.symbol)
        self._profile = profile_of(stream)
        self._tape = TapeReader(self._market, now_ms)

    def poll(self, now_ms: int) -> list[bytes]:
        trades = self._tape.read(now_ms, MAX_EVENTS_PER_POLL)
        rows = agg_trade_objects(trades, self._market.contract, self._profile)
        head = {"e": "aggTrade", "E": 0, "s": self.stream.symbol}
        events = []
        for row in rows:
            head["E"] = row["T"]
            events.append(encode({**head, **row}))
        return events


class TradeFeed:
    """Individual trades of one spot symbol."""

    def __init__(self, venue: Venue, stream: Stream, now_ms: int) -> None:
        self.stream = stream
        self._market = venue.market(market_kind(stream), stream.symbol)
        self._width = profile_of(stream).pad_decimals
        self._tape = TapeReader(self._market, now_ms)

    def poll(self, now_ms: int) -> list[bytes]:
        aggs = self._tape.read(now_ms, MAX_EVENTS_PER_POLL, count_individual=True)
        trades = individual_trades(self._market, aggs)
        rules = self._market.contract
        rows = zip(
            trades.id.tolist(),
            column_text(trades.price, rules.price_decimals, self._width),
            column_text(trades.qty, rules.qty_decimals, self._width),
            trades.time.tolist(),
            trades.buyer_maker.tolist(),
            strict=True,
        )
        symbol = self.stream.symbol
        return [
            encode(
                {
                    "e": "trade",
                    "E": time,
                    "s": symbol,
                    "t": trade_id,
                    "p": price,
                    "q": qty,
                    "T": time,
                    "m": maker,
                    "M": True,
                }
            )
            for trade_id, price, qty, time, maker in rows
        ]
