"""The realtime service: one replica, 10 USD-M symbols, every strategy enabled.

1. Evaluation throughput: socket-client envelopes (a 20-level book every 100 ms, 50 aggTrades
   a second, a mark price a second, a kline a minute; ``bench.realtime_core``'s tape) for 10
   symbols, interleaved, through the service's own hot path (``parse_message`` and
   ``SymbolEngine.feed`` of the owning symbol, lease check included), no NATS: events/s.
2. Latency at a realistic rate through real NATS: ``RealtimeService`` (leases on the in-memory
   store, no Data Manager) owns 10 symbols; this process publishes their books (10/s),
   aggTrades (20/s) and mark prices (1/s) with exchange time = the wall clock at publish, the
   books swinging between a heavy-bid and a neutral book so ``orderbook_imbalance`` (1 s
   persistence, 1 s cooldown) signals every few seconds per symbol. A subscriber on the
   signals subject timestamps each signal: p50/p99 of receive time − the triggering event's
   exchange time.
3. Memory per symbol after one hour of streams compressed in time (``bench.realtime_core``).

    python -m bench.realtime                       # ~2 min
    python -m bench.realtime --latency-s 120 --memory-minutes 60
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import statistics
import time
import uuid
from typing import Any

import nats
import orjson

from bench.realtime_core import memory, tape
from petrosa.contracts import Market
from petrosa.coordination import Locks, MemoryLeaseStore
from petrosa.realtime import AggTrade, BookSnapshot, Candle, MarkPrice
from petrosa.realtime.service import RealtimeService, RealtimeSettings, SymbolKey

NATS_URL = "nats://127.0.0.1:4222"
SYMBOLS = tuple(f"B{n}USDT" for n in range(10))


def envelope(event: Any, symbol: str) -> tuple[str, bytes]:
    """The socket client's message for a core event (maintained book for depth)."""
    if isinstance(event, BookSnapshot):
        bids = [[p, q] for p, q in zip(event.bid_prices, event.bid_qtys, strict=True)]
        asks = [[p, q] for p, q in zip(event.ask_prices, event.ask_qtys, strict=True)]
        book_body = {"market": "futures", "symbol": symbol, "last_update_id": event.update_id,
                     "event_time": event.time_ms, "bids": bids, "asks": asks}  # fmt: skip
        return f"binance.futures.book.{symbol}", orjson.dumps(book_body)
    if isinstance(event, AggTrade):
        data: dict[str, Any] = {
            "e": "aggTrade", "E": event.time_ms, "s": symbol, "a": event.trade_id,
            "p": str(event.price), "q": str(event.qty), "f": 1, "l": 1, "T": event.time_ms,
            "m": event.buyer_maker,
        }  # fmt: skip
        token = "aggTrade"
    elif isinstance(event, MarkPrice):
        data = {"e": "markPriceUpdate", "E": event.time_ms, "s": symbol,
                "p": str(event.mark_price), "i": str(event.index_price),
                "r": str(event.funding_rate), "T": event.next_funding_ms}  # fmt: skip
        token = "markPrice_1s"
    else:
        assert isinstance(event, Candle)
        data = {"e": "kline", "E": event.time_ms, "s": symbol,
                "k": {"t": event.open_time, "h": str(event.high), "l": str(event.low),
                      "c": str(event.close), "x": True}}  # fmt: skip
        token = "kline_1m"
    body: dict[str, Any] = {"stream": token, "event_time": event.time_ms,
                            "received_at": event.time_ms, "data": data}  # fmt: skip
    return f"binance.futures.{token}.{symbol}", orjson.dumps(body)


async def owned_service(settings: RealtimeSettings) -> RealtimeService:
    service = RealtimeService(settings, Locks(MemoryLeaseStore(), identity="bench"))
    await service.start()
    deadline = time.monotonic() + 30
    while len(service.holdings) < len(SYMBOLS):
        assert time.monotonic() < deadline, "symbols not owned"
        await asyncio.sleep(0.05)
    return service


async def throughput(minutes: float) -> None:
    settings = RealtimeSettings(markets=(Market.FUTURES,), symbols=SYMBOLS, nats_url=NATS_URL)
    service = await owned_service(settings)
    try:
        for holding in service.holdings.values():
            await holding.inputs.stop()  # this pass feeds the hot path directly
        tapes = [[envelope(e, s) for e in tape(minutes, 50, seed=n)] for n, s in enumerate(SYMBOLS)]
        messages = [m for group in zip(*tapes, strict=False) for m in group]
        routes = {s: (SymbolKey(Market.FUTURES, s), h.token) for s, h in
                  ((k.symbol, h) for k, h in service.holdings.items())}  # fmt: skip
        started = time.perf_counter()
        for subject, payload in messages:
            key, token = routes[subject.rsplit(".", 1)[1]]
            service._on_input(key, token, subject, payload)
        elapsed = time.perf_counter() - started
        signals = sum(
            s.signals for h in service.holdings.values() for s in h.engine.stats.strategies.values()
        )
        print(f"throughput: {len(messages):,} messages ({minutes:g} min × 10 symbols), "
              f"{len(messages) / elapsed:,.0f} events/s, {elapsed / len(messages) * 1e6:.1f} "
              f"µs/event, {signals} signals")  # fmt: skip
    finally:
        await service.stop()


def book(symbol: str, update_id: int, now_ms: int, heavy: bool) -> bytes:
    mid = 100.0
    bids = [[round(mid - 0.01 * (i + 1), 2), 30.0 if heavy else 10.0] for i in range(20)]
    asks = [[round(mid + 0.01 * (i + 1), 2), 10.0] for i in range(20)]
    body = {"market": "futures", "symbol": symbol, "last_update_id": update_id,
            "event_time": now_ms, "bids": bids, "asks": asks}  # fmt: skip
    return orjson.dumps(body)


async def latency(seconds: float) -> None:
    run = uuid.uuid4().hex[:8]
    settings = RealtimeSettings(
        markets=(Market.FUTURES,),
        symbols=SYMBOLS,
        nats_url=NATS_URL,
        signals_subject=f"signals.trading.bench{run}",
        signals_stream=f"SIGNALS_BENCH{run}",
    )
    service = await owned_service(settings)
    from petrosa.realtime import RealtimeConfig

    doc = {"strategies": {"orderbook_imbalance": {"params": {"persistence_s": 1, "cooldown_s": 1}}}}
    service.parameters.config = RealtimeConfig.model_validate(doc)
    for key, holding in service.holdings.items():
        holding.engine.configure(service.parameters.config.resolve(key.market, key.symbol))
    client = await nats.connect(NATS_URL)
    lags: list[float] = []

    async def take(message: Any) -> None:
        signal = orjson.loads(message.data)
        lags.append(time.time() * 1000 - signal["metadata"]["event_time"])

    await client.subscribe(settings.signals_subject, cb=take)
    await client.flush()
    # The market comes from another process, as it would: this loop serves the replica only.
    generator = multiprocessing.get_context("spawn").Process(target=_generate, args=(seconds,))
    generator.start()
    try:
        while generator.is_alive():  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)
    finally:
        generator.join()
        with contextlib.suppress(Exception):
            await client.jetstream().delete_stream(settings.signals_stream)
        await client.close()
        await service.stop()
    published = round(seconds * 10 * len(SYMBOLS) * 3.1)
    lags.sort()
    p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))] if lags else float("nan")
    print(f"latency: {published / seconds:,.0f} messages/s for {seconds:g} s, {len(lags)} signals; "
          f"event time → signal on NATS p50 {statistics.median(lags):.2f} ms, "
          f"p99 {p99:.2f} ms, max {lags[-1]:.2f} ms")  # fmt: skip


def _generate(seconds: float) -> None:
    asyncio.run(_market(seconds))


async def _market(seconds: float) -> None:
    """Books (10/s), aggTrades (20/s) and mark prices (1/s) per symbol, stamped with the
    wall clock just before each publish."""
    client = await nats.connect(NATS_URL)
    trade_id = update_id = tick = 0
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        update_id += 1
        for n, symbol in enumerate(SYMBOLS):
            heavy = (tick // 10 + n) % 4 < 2  # 2 s heavy, 2 s neutral, phase per symbol
            now_ms = round(time.time() * 1000)
            await client.publish(
                f"binance.futures.book.{symbol}", book(symbol, update_id, now_ms, heavy)
            )
            for _ in range(2):
                trade_id += 1
                trade = AggTrade(Market.FUTURES, symbol, now_ms, trade_id, 100.0, 1.0, False)
                await client.publish(*envelope(trade, symbol))
            if tick % 10 == 0:
                mark = MarkPrice(Market.FUTURES, symbol, now_ms, 100.0, 100.0, 0.0001,
                                 now_ms + 3_600_000)  # fmt: skip
                await client.publish(*envelope(mark, symbol))
        await client.flush()
        tick += 1
        await asyncio.sleep(max(0.0, started + tick * 0.1 - time.monotonic()))
    await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--throughput-minutes", type=float, default=5.0)
    parser.add_argument("--latency-s", type=float, default=60.0)
    parser.add_argument("--memory-minutes", type=float, default=60.0)
    parser.add_argument("--memory-symbols", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(throughput(args.throughput_minutes))
    asyncio.run(latency(args.latency_s))
    memory(args.memory_minutes, 50, args.memory_symbols)


if __name__ == "__main__":
    main()
