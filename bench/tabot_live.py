"""The TA bot live: a ``binance.klines.<SYMBOL>.<interval>`` event to its signals on NATS.

A Data Manager process (SQLite by default) holds a random-walk series for each of 10
symbols × 5 intervals, as many rows as the largest warm-up needs; one TA bot (in this
process, every strategy enabled) consumes the extractor's events from its JetStream
durable consumer. Events are published one at a time on core NATS, as the extractor does,
and each is timed from its publish until the bot finished it (candles read, every strategy
evaluated, the signals published to ``signals.trading`` and recorded in the Data Manager,
the event acknowledged). The split comes from the runner's own timings (the ones
``/metrics`` exports as ``petrosa_tabot_candle_read_seconds`` and
``petrosa_tabot_evaluation_seconds``).

    python -m bench.tabot_live [--rounds 4] [--backend sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
import uuid
from collections.abc import Sequence
from typing import Any

import nats
import numpy as np
from nats.js.errors import NotFoundError

from bench._common import (
    bench_database,
    console,
    data_manager,
    environment_line,
    fmt_ms,
    new_table,
    percentile,
    run,
)
from petrosa.client import DataManagerClient
from petrosa.contracts import Interval
from petrosa.contracts.events import ExtractionCompleted, klines_subject
from petrosa.contracts.market import DEFAULT_SYMBOLS
from petrosa.tabot import CATALOGUE
from petrosa.tabot.service import TaBot, TabotSettings
from petrosa.tabot.service.consumer import Handled
from petrosa.tabot.service.runner import RunResult
from petrosa.tabot.service.triggers import Ignored, Source, Trigger

NATS_URL = "nats://127.0.0.1:4222"
INTERVALS = (Interval.M1, Interval.M5, Interval.M15, Interval.H1, Interval.H4)
ROWS = 1_700
"""Stored per series: above every strategy's ``rows_needed`` plus the margin (1,590)."""
TIMEOUT_S = 60.0


def series(interval: Interval, rows: int, seed: int) -> list[list[Any]]:
    """Binance kline arrays ending with the last closed candle, a random walk."""
    step = interval.milliseconds
    assert step is not None
    last = interval.floor(int(time.time() * 1000)) - step
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, rows)))
    opened = np.concatenate([[close[0]], close[:-1]])
    spread = np.abs(rng.normal(0, 0.003, rows)) * close
    volume = rng.uniform(50, 150, rows)
    first = last - step * (rows - 1)
    return [
        [first + i * step, o, max(o, c) + s, min(o, c) - s, c, v, first + (i + 1) * step - 1,
         c * v, 10, v / 2, c * v / 2, "0"]
        for i, (o, c, s, v) in enumerate(zip(opened.tolist(), close.tolist(), spread.tolist(),
                                             volume.tolist(), strict=True))
    ]  # fmt: skip


class TimedBot(TaBot):
    """The service unchanged, noting when each trigger ended and its runner's split."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.finished: asyncio.Queue[tuple[float, RunResult | None]] = asyncio.Queue()
        self._last: RunResult | None = None
        run_once = self.runner.run

        async def timed_run(trigger: Trigger, config: Any) -> RunResult:
            result = await run_once(trigger, config)
            self._last = result
            return result

        self.runner.run = timed_run  # type: ignore[method-assign]

    async def _handle(self, source: Source, parsed: Trigger | Ignored, deliveries: int) -> Handled:
        handled = await super()._handle(source, parsed, deliveries)
        self.finished.put_nowait((time.perf_counter(), self._last))
        return handled


async def measure(dm_url: str, rounds: int) -> dict[str, list[float]]:
    tag = uuid.uuid4().hex[:6]
    symbols = tuple(DEFAULT_SYMBOLS[:10])
    settings = TabotSettings(
        nats_url=NATS_URL,
        symbols=symbols,
        timeframes=INTERVALS,
        events_stream=f"KLINE_EVENTS_B{tag}",
        events_durable=f"tabot_b{tag}",
        socket_klines=False,
        signals_stream=f"SIGNALS_B{tag}",
        signals_subject=f"signals.trading.b{tag}",
        signals_collection=f"ta_signals_b{tag}",
        config_key=f"tabot.b{tag}",
    )
    figures: dict[str, list[float]] = {"event": [], "read": [], "evaluate": [], "rest": []}
    signals = 0
    async with DataManagerClient(dm_url) as dm:
        for s, symbol in enumerate(symbols):
            for i, interval in enumerate(INTERVALS):
                await dm.insert_klines(symbol, interval, series(interval, ROWS, 10 * s + i))
        await dm.set_app_config(
            settings.config_key,
            {"enabled": [s.id for s in CATALOGUE], "symbols": list(symbols),
             "timeframes": [i.value for i in INTERVALS]},
            changed_by="bench",
        )  # fmt: skip
    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    bot = TimedBot(settings, DataManagerClient(dm_url))
    await bot.start()
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not (await bot.readiness())[0]:
            if time.monotonic() > deadline:
                raise SystemExit(f"the bot is not ready: {(await bot.readiness())[1]}")
            await asyncio.sleep(0.05)
        for round_ in range(rounds + 1):  # the first round warms up (connections, caches)
            for symbol in symbols:
                for interval in INTERVALS:
                    event = ExtractionCompleted(
                        symbol=symbol, interval=interval.value, records_fetched=1,
                        records_written=1, duration_s=0.1, success=True,
                    )  # fmt: skip
                    sent = time.perf_counter()
                    await nc.publish(
                        klines_subject(symbol, interval), event.model_dump_json().encode()
                    )
                    done, result = await asyncio.wait_for(bot.finished.get(), TIMEOUT_S)
                    if round_ == 0 or result is None:
                        continue
                    total = done - sent
                    figures["event"].append(total)
                    figures["read"].append(result.read_s)
                    figures["evaluate"].append(result.evaluate_s)
                    figures["rest"].append(total - result.read_s - result.evaluate_s)
                    signals += len(result.signals)
    finally:
        await bot.stop()
        for stream in (settings.events_stream, settings.signals_stream):
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(stream)
        await nc.close()
    figures["signals"] = [float(signals)]
    return figures


def report(figures: dict[str, list[float]], backend: str) -> None:
    table = new_table(
        f"TA bot live, {len(figures['event'])} events (10 symbols × 5 intervals, all "
        f"{len(CATALOGUE)} strategies), Data Manager on {backend}",
        ["per event", "p50 ms", "p99 ms", "max ms"],
    )
    labels = {
        "event": "event published → signals out, acked",
        "read": "Data Manager read",
        "evaluate": "evaluation (indicators + strategies)",
        "rest": "the rest (NATS, publish, record, ack)",
    }
    for key, label in labels.items():
        values: Sequence[float] = sorted(figures[key])
        table.add_row(
            label, fmt_ms(percentile(values, 0.5)), fmt_ms(percentile(values, 0.99)),
            fmt_ms(values[-1]),
        )  # fmt: skip
    console.print(table)
    console.print(f"signals published: {int(figures['signals'][0])}")
    console.print(environment_line())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=4, help="events per series (measured)")
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "mariadb", "postgresql"))
    args = parser.parse_args(argv)
    with bench_database(args.backend, "tabot_live") as db, data_manager(db) as server:
        figures = run(measure(server.base_url, args.rounds))
    report(figures, args.backend)


if __name__ == "__main__":
    main()
