"""Synthetic, seeded market tapes for the realtime tests: books, trades and mark prices on
exchange time, each stream built from a function of time so a scenario reads as its
episodes ("from 150 s the bids are three times the asks")."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from petrosa.contracts import Kline, Market
from petrosa.contracts.signals import Signal
from petrosa.realtime import (
    CATALOGUE,
    AggTrade,
    BookSnapshot,
    MarketEvent,
    MarkPrice,
    RealtimeParams,
    SymbolEngine,
)
from petrosa.realtime.signals import Emission

Ev = TypeVar("Ev", bound=MarketEvent)
T0 = 1_700_000_000_000 - 1_700_000_000_000 % 3_600_000  # on the hour: readable offsets
SYMBOL = "BTCUSDT"
TICK = 0.01
LEVELS = 20


def event_ms(signal: Signal) -> int:
    """The signal's exchange event time (every realtime signal carries one)."""
    assert signal.event_time is not None
    return signal.event_time


def at(seconds: float) -> int:
    """Exchange time ``seconds`` after T0."""
    return T0 + round(seconds * 1000)


@dataclass
class BookShape:
    """What a snapshot looks like at one moment; tests change fields per episode."""

    mid: float = 100.0
    spread: float = 0.02
    bid_scale: float = 1.0
    ask_scale: float = 1.0
    noise: float = 0.05
    extra: dict[tuple[str, float], float] = field(default_factory=dict)
    """(side, price) → quantity placed on top of the regular levels."""


def snapshot(
    time_ms: int,
    shape: BookShape,
    rng: random.Random,
    *,
    market: Market = Market.FUTURES,
    update_id: int | None = None,
) -> BookSnapshot:
    best_bid = round(shape.mid - shape.spread / 2, 2)
    best_ask = round(shape.mid + shape.spread / 2, 2)
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    for i in range(LEVELS):
        base = 1.0 + (i % 3) * 0.5
        bids[round(best_bid - i * TICK, 2)] = base * shape.bid_scale * _jitter(rng, shape)
        asks[round(best_ask + i * TICK, 2)] = base * shape.ask_scale * _jitter(rng, shape)
    for (side, price), qty in shape.extra.items():
        (bids if side == "bid" else asks)[price] = qty
    bid_prices = sorted(bids, reverse=True)[:LEVELS]
    ask_prices = sorted(asks)[:LEVELS]
    return BookSnapshot(
        market,
        SYMBOL,
        time_ms,
        tuple(bid_prices),
        tuple(bids[p] for p in bid_prices),
        tuple(ask_prices),
        tuple(asks[p] for p in ask_prices),
        update_id,
    )


def _jitter(rng: random.Random, shape: BookShape) -> float:
    return 1.0 + rng.uniform(-shape.noise, shape.noise)


def books(
    start_s: float,
    end_s: float,
    shape: Callable[[float], BookShape],
    *,
    every_ms: int = 100,
    seed: int = 1,
    market: Market = Market.FUTURES,
) -> Iterator[BookSnapshot]:
    """A snapshot every ``every_ms`` in [start_s, end_s); ``shape`` gets the seconds since T0."""
    rng = random.Random(seed)
    for n, time_ms in enumerate(range(at(start_s), at(end_s), every_ms)):
        seconds = (time_ms - T0) / 1000
        yield snapshot(time_ms, shape(seconds), rng, market=market, update_id=time_ms + n)


@dataclass
class Flow:
    """The trades of one moment: price, how many of them buy, size."""

    price: float = 100.0
    buy_share: float = 0.5
    qty: float = 1.0
    noise: float = 0.0002


def trades(
    start_s: float,
    end_s: float,
    flow: Callable[[float], Flow],
    *,
    every_ms: int = 200,
    seed: int = 2,
    market: Market = Market.FUTURES,
    first_id: int = 1,
) -> Iterator[AggTrade]:
    rng = random.Random(seed)
    for n, time_ms in enumerate(range(at(start_s), at(end_s), every_ms)):
        f = flow((time_ms - T0) / 1000)
        price = round(f.price * (1 + rng.uniform(-f.noise, f.noise)), 2)
        qty = round(f.qty * rng.uniform(0.5, 1.5), 4)
        buyer_maker = rng.random() >= f.buy_share
        yield AggTrade(market, SYMBOL, time_ms, first_id + n, price, qty, buyer_maker)


@dataclass
class Funding:
    rate: float = 0.0001
    mark: float = 100.0
    index: float = 100.0


def marks(
    start_s: float, end_s: float, funding: Callable[[float], Funding], *, funding_ms: int
) -> Iterator[MarkPrice]:
    for time_ms in range(at(start_s), at(end_s), 1000):
        f = funding((time_ms - T0) / 1000)
        yield MarkPrice(Market.FUTURES, SYMBOL, time_ms, f.mark, f.index, f.rate, funding_ms)


def merge(*streams: Iterable[Ev]) -> list[Ev]:
    """One tape in exchange-time order (stable between streams at equal times)."""
    return list(heapq.merge(*streams, key=lambda event: event.time_ms))


def run(engine: SymbolEngine, events: Iterable[MarketEvent]) -> list[Emission]:
    out: list[Emission] = []
    for event in events:
        out.extend(engine.feed(event))
    return out


def flat_candles(count: int = 30, price: float = 100.0, span: float = 0.0) -> list[Kline]:
    """1m candles ending before T0 whose true range is ``span`` each (ATR14 = span)."""
    first = T0 - count * 60_000
    return [
        Kline(
            open_time=first + i * 60_000,
            open=price,
            high=price + span / 2,
            low=price - span / 2,
            close=price,
            volume=1.0,
            close_time=first + i * 60_000 + 59_999,
        )
        for i in range(count)
    ]


def engine_for(
    strategy_id: str,
    *,
    params: RealtimeParams | None = None,
    market: Market = Market.FUTURES,
    candles: Iterable[Kline] = (),
) -> SymbolEngine:
    """An engine running one strategy with its defaults (or ``params``)."""
    chosen = params if params is not None else CATALOGUE[strategy_id].params_type()
    return SymbolEngine(market, SYMBOL, {strategy_id: chosen}, candles=candles)
