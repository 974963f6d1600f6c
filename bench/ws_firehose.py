"""How many stream frames per second the simulator pushes through uvicorn to one bare
WebSocket client (the ``websockets`` library, receiving and discarding).

    python -m bench.ws_firehose [--rate 1000000] [--streams 1] [--seconds 5] [--rounds 3]

The simulator runs in firehose mode (``--ws-firehose-rate``): each subscribed aggTrade stream
emits ``--rate`` synthetic events per second, far more than a connection carries, so the
figure is the ceiling of the server-to-client path. The socket client's benchmark needs it
well above 50,000 frames/s. The last frame's id is checked against the count: nothing lost.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass

import orjson
from websockets.asyncio.client import connect

from bench._common import Server, console, environment_line, exchange_simulator, new_table, run

SYMBOLS = ("btcusdt", "ethusdt", "bnbusdt", "solusdt", "xrpusdt", "adausdt", "dogeusdt")
WARM_UP_S = 1.0


@dataclass
class Round:
    frames: int
    seconds: float
    client_cpu_s: float
    server_cpu_s: float

    @property
    def rate(self) -> float:
        return self.frames / self.seconds


async def receive_round(server: Server, streams: int, seconds: float) -> Round:
    """Connect, warm up, then count frames for ``seconds`` with the CPU each side used."""
    names = "/".join(f"{symbol}@aggTrade" for symbol in SYMBOLS[:streams])
    url = f"ws://127.0.0.1:{server.port}/stream?streams={names}"
    async with connect(url, max_size=None, compression=None) as socket:
        warm_until = time.perf_counter() + WARM_UP_S
        while time.perf_counter() < warm_until:
            await socket.recv()
        frames = 0
        client_cpu = time.process_time()
        server_cpu = server.cpu_seconds()
        started = time.perf_counter()
        deadline = started + seconds
        while True:
            last = await socket.recv()
            frames += 1
            if frames & 1023 == 0 and time.perf_counter() >= deadline:
                break
        elapsed = time.perf_counter() - started
        result = Round(
            frames,
            elapsed,
            time.process_time() - client_cpu,
            server.cpu_seconds() - server_cpu,
        )
    payload = orjson.loads(last)["data"]
    assert payload["e"] == "aggTrade", payload
    assert payload["a"] >= frames // streams, payload  # ids are contiguous: none lost
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=1_000_000, help="events/s per stream")
    parser.add_argument("--streams", type=int, default=1, choices=range(1, len(SYMBOLS) + 1))
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    console.print(environment_line())
    rounds: list[Round] = []
    with exchange_simulator("--ws-firehose-rate", str(args.rate)) as server:
        for _ in range(args.rounds):
            rounds.append(run(receive_round(server, args.streams, args.seconds)))
    table = new_table(
        f"Simulator firehose → one bare websockets client ({args.streams} aggTrade stream(s), "
        f"target {args.rate:,}/s each)",
        ["round", "frames/s", "client CPU s", "server CPU s", "seconds"],
    )
    for index, result in enumerate(rounds, 1):
        table.add_row(
            str(index),
            f"{result.rate:,.0f}",
            f"{result.client_cpu_s:.2f}",
            f"{result.server_cpu_s:.2f}",
            f"{result.seconds:.1f}",
        )
    table.add_row("median", f"{statistics.median(r.rate for r in rounds):,.0f}", "", "", "")
    console.print(table)


if __name__ == "__main__":
    main()
