"""The simulator's stream feeds, one poll at a time: CPU time per poll of each stream type
when polled at its cadence (event streams every 100 ms), on a manual clock, in process.

    python -m bench.feeds [--seconds 120] [--symbol BTCUSDT]

What the WebSocket server pays per subscribed stream; the firehose has its own benchmark.
"""

from __future__ import annotations

import argparse
import time

from bench._common import console, environment_line, fmt_ms, median, new_table, percentile
from petrosa.exchange.binance.streams import parse_stream
from petrosa.exchange.simulator import ManualClock, SimulatorSettings
from petrosa.exchange.simulator.feeds import open_feed
from petrosa.exchange.simulator.venue import Venue

START_MS = 1_748_781_296_789
"""2025-06-01T12:34:56.789Z, as in the simulator's unit tests."""
EVENT_STREAM_POLL_MS = 100
STREAMS = {
    "spot": [
        "kline_1m",
        "kline_1d",
        "aggTrade",
        "trade",
        "depth",
        "depth@100ms",
        "depth20@100ms",
        "bookTicker",
    ],
    "futures": [
        "kline_1m",
        "kline_1d",
        "aggTrade",
        "depth",
        "depth@100ms",
        "depth20@100ms",
        "bookTicker",
        "markPrice@1s",
    ],
}


def measure(market: str, type_text: str, symbol: str, seconds: int) -> tuple[list[float], int]:
    """Seconds per poll (sorted) and events sent over ``seconds`` of simulated time."""
    clock = ManualClock(START_MS)
    venue = Venue(SimulatorSettings(symbols=(symbol,)), clock)
    stream = parse_stream(f"{symbol.lower()}@{type_text}", market)
    step = stream.type.cadence_ms or EVENT_STREAM_POLL_MS
    feed = open_feed(venue, stream, START_MS)
    feed.poll(START_MS)
    costs: list[float] = []
    events = 0
    while clock.now_ms() < START_MS + seconds * 1_000:
        clock.advance(step)
        began = time.process_time()
        events += len(feed.poll(clock.now_ms()))
        costs.append(time.process_time() - began)
    return sorted(costs), events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=120, help="simulated seconds per stream")
    parser.add_argument("--symbol", default="BTCUSDT")
    options = parser.parse_args()
    console.print(environment_line())
    table = new_table(
        f"feed cost per poll, {options.seconds} s simulated, {options.symbol}",
        ["market", "stream", "polls", "events", "median ms", "p99 ms", "max ms", "CPU %"],
        right_from=2,
    )
    for market, types in STREAMS.items():
        for type_text in types:
            costs, events = measure(market, type_text, options.symbol, options.seconds)
            busy = sum(costs) / options.seconds * 100
            table.add_row(
                market,
                type_text,
                str(len(costs)),
                str(events),
                fmt_ms(median(costs)),
                fmt_ms(percentile(costs, 0.99)),
                fmt_ms(costs[-1]),
                f"{busy:.2f}",
            )
    console.print(table)


if __name__ == "__main__":
    main()
