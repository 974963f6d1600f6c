"""The realtime core alone, in process: events per second one symbol's engine evaluates with
every strategy enabled, and the memory that symbol's state holds after an hour of streams
compressed in time (no NATS, no service: ``SymbolEngine.feed`` and ``parse_message``).

The tape is a seeded random walk shaped like a busy USD-M pair: a 20-level book every
100 ms (``depth20_100ms``), ``--trades-per-s`` aggregate trades, a mark price each second,
a closed 1m kline each minute. Memory is what ``tracemalloc`` finds still allocated after
the run, minus what was allocated before the engine existed (the tape is generated lazily,
so none of it is counted).

    python -m bench.realtime_core                      # 60 min, 50 trades/s
    python -m bench.realtime_core --minutes 10 --trades-per-s 200
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import time
import tracemalloc
from collections.abc import Iterator

import orjson

from petrosa.contracts import Market
from petrosa.realtime import (
    AggTrade,
    BookSnapshot,
    Candle,
    MarketEvent,
    MarkPrice,
    SymbolEngine,
    parse_message,
)
from petrosa.realtime.strategies import IcebergDetector

SYMBOL = "BTCUSDT"
START_MS = 1_700_000_000_000 - 1_700_000_000_000 % 60_000
TICK = 0.1
LEVELS = 20
BOOK_MS = 100


def tape(minutes: float, trades_per_s: float, seed: int = 7) -> Iterator[MarketEvent]:
    """Books, trades, marks and klines in exchange-time order, generated as they are read."""
    rng = random.Random(seed)
    mid = 30_000.0
    end = START_MS + round(minutes * 60_000)
    trade_gap = 1000 / trades_per_s
    next_trade = float(START_MS)
    trade_id = 0
    high = low = mid
    update_id = 0
    resting: dict[float, float] = {}
    for now in range(START_MS, end, BOOK_MS):
        mid = max(1_000.0, mid + rng.gauss(0, 1.5))
        high, low = max(high, mid), min(low, mid)
        while next_trade < now + BOOK_MS:
            trade_id += 1
            price = round(mid + rng.choice((-1, 1)) * TICK * rng.randint(1, 3), 1)
            qty = round(rng.lognormvariate(-3, 1.2), 3) + 0.001
            yield AggTrade(
                Market.FUTURES, SYMBOL, int(next_trade), trade_id, price, qty, rng.random() < 0.5
            )
            next_trade += rng.expovariate(1 / trade_gap)
        update_id += rng.randint(1, 50)
        yield _book(rng, now + BOOK_MS - 1, mid, update_id, resting)
        second_end = (now + BOOK_MS) % 1000 == 0
        if second_end:
            rate = 0.0001 + 0.0008 * math.sin(now / 3_600_000)
            yield MarkPrice(Market.FUTURES, SYMBOL, now + BOOK_MS, mid, mid * 0.9999, rate,
                            (now // 28_800_000 + 1) * 28_800_000)  # fmt: skip
        if (now + BOOK_MS) % 60_000 == 0:
            yield Candle(Market.FUTURES, SYMBOL, now + BOOK_MS, now + BOOK_MS - 60_000, high,
                         low, mid)  # fmt: skip
            high = low = mid


def _book(
    rng: random.Random, time_ms: int, mid: float, update_id: int, resting: dict[float, float]
) -> BookSnapshot:
    """The 20 levels around ``mid``; a level's quantity persists between snapshots and
    changes at random (one in ten per snapshot), as resting orders do."""
    best_bid = math.floor(mid / TICK) * TICK
    bids = tuple(round(best_bid - i * TICK, 1) for i in range(LEVELS))
    asks = tuple(round(best_bid + (i + 1) * TICK, 1) for i in range(LEVELS))

    def qty(price: float) -> float:
        if price not in resting or rng.random() < 0.1:
            resting[price] = round(rng.lognormvariate(0, 1), 3) + 0.001
        return resting[price]

    if len(resting) > 20_000:  # the generator's own memory stays bounded too
        resting.clear()
    return BookSnapshot(
        Market.FUTURES,
        SYMBOL,
        time_ms,
        bids,
        tuple(qty(p) for p in bids),
        asks,
        tuple(qty(p) for p in asks),
        update_id,
    )


def throughput(minutes: float, trades_per_s: float) -> SymbolEngine:
    engine = SymbolEngine(Market.FUTURES, SYMBOL)
    events = list(tape(minutes, trades_per_s))
    signals = 0
    started = time.perf_counter()
    for event in events:
        signals += len(engine.feed(event))
    elapsed = time.perf_counter() - started
    print(f"tape: {minutes:g} min, {len(events):,} events ({trades_per_s:g} trades/s, "
          f"{1000 // BOOK_MS} books/s), {signals} signals")  # fmt: skip
    print(f"engine.feed, all strategies: {len(events) / elapsed:,.0f} events/s, "
          f"{elapsed / len(events) * 1e6:.1f} µs/event mean")  # fmt: skip
    print(f"{'strategy':22} {'evaluations':>12} {'µs/eval':>9} {'signals':>8}")
    for strategy_id, stats in engine.stats.strategies.items():
        per = stats.evaluation_ns / max(1, stats.evaluations) / 1000
        print(f"{strategy_id:22} {stats.evaluations:>12,} {per:>9.2f} {stats.signals:>8}")
    return engine


def parsing(count: int = 50_000) -> None:
    messages: list[tuple[str, bytes]] = []
    for event in tape(10, 50):
        if isinstance(event, BookSnapshot):
            data = {"e": "depthUpdate", "E": event.time_ms, "T": event.time_ms, "s": SYMBOL,
                    "U": 1, "u": event.update_id, "pu": 0,
                    "b": [[str(p), str(q)] for p, q in zip(event.bid_prices, event.bid_qtys,
                                                           strict=True)],
                    "a": [[str(p), str(q)] for p, q in zip(event.ask_prices, event.ask_qtys,
                                                           strict=True)]}  # fmt: skip
            subject = f"binance.futures.depth20_100ms.{SYMBOL}"
        elif isinstance(event, AggTrade):
            data = {"e": "aggTrade", "E": event.time_ms, "s": SYMBOL, "a": event.trade_id,
                    "p": str(event.price), "q": str(event.qty), "f": 1, "l": 1,
                    "T": event.time_ms, "m": event.buyer_maker}  # fmt: skip
            subject = f"binance.futures.aggTrade.{SYMBOL}"
        else:
            continue
        envelope = {"stream": "x", "event_time": event.time_ms, "received_at": event.time_ms,
                    "data": data}  # fmt: skip
        messages.append((subject, orjson.dumps(envelope)))
        if len(messages) == count:
            break
    books = sum(1 for subject, _ in messages if "depth" in subject)
    started = time.perf_counter()
    for subject, payload in messages:
        parse_message(subject, payload)
    elapsed = time.perf_counter() - started
    print(f"parse_message: {len(messages) / elapsed:,.0f} messages/s "
          f"({books:,} depth20 books, {len(messages) - books:,} aggTrades)")  # fmt: skip


def memory(minutes: float, trades_per_s: float, symbols: int) -> None:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    engines = []
    for n in range(symbols):
        engine = SymbolEngine(Market.FUTURES, SYMBOL)
        for event in tape(minutes, trades_per_s, seed=n):
            engine.feed(event)
        engines.append(engine)
        gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    iceberg = engines[0]._slots["iceberg_detector"].strategy
    assert isinstance(iceberg, IcebergDetector)
    print(f"memory after {minutes:g} min: {held / symbols / 1024:,.0f} KiB per symbol "
          f"(mean of {symbols}; iceberg levels tracked: {len(iceberg.levels)})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--trades-per-s", type=float, default=50.0)
    parser.add_argument("--memory-symbols", type=int, default=2)
    args = parser.parse_args()
    throughput(args.minutes, args.trades_per_s)
    parsing()
    memory(args.minutes, args.trades_per_s, args.memory_symbols)


if __name__ == "__main__":
    main()
