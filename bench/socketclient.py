"""Socket client throughput and lag: the simulator's firehose through ``petrosa socket-client
serve`` into NATS, against a bare receive loop on the same firehose in the same run.

    python -m bench.socketclient [--streams 4] [--seconds 10] [--rounds 3] [--lag-seconds 30]
    python -m bench.socketclient --in-process [--streams 4] [--seconds 10] [--rounds 3]

Throughput. ``petrosa exchange-sim serve --ws-firehose-rate`` pushes spot aggTrade frames as
fast as a connection takes them. Rounds alternate two receivers of the same combined URL:

* bare loop: this process, the ``websockets`` library with the client's connection options,
  receiving and discarding (no parse);
* client: a ``petrosa socket-client serve`` process (books off) publishing every frame to
  NATS; counted by the client's ``socketclient_frames_out_total`` and by a raw NATS
  subscriber in this process that counts ``MSG`` lines (no parse, so it stays cheap and
  never becomes the slow consumer).

CPU seconds of each process over the measured window come from ``/proc/<pid>/stat`` (and
``time.process_time`` for this one): simulator, client, NATS server, bare loop or counter.

In process (``--in-process``): one ``ConnectionSlot`` in this process on the same firehose,
publishing to NATS; CPU microseconds per published message (``time.process_time``), the
figure that profiling the hot path works on (no HTTP, no second process to read).

Lag. A simulator with its own running clock (no firehose), the client on USD-M with 10
symbols x ``kline_1m``, ``aggTrade``, ``depth@100ms`` (with the maintained books) and
``markPrice@1s``; a nats-py subscriber records, per message, its arrival time minus the
exchange event time ``E`` (split at the client's ``received_at``). The simulator polls its
feeds every 20 ms, so up to 20 ms of event→received is the simulator's own tick.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import nats
import orjson
from nats.aio.msg import Msg
from websockets.asyncio.client import connect

from bench._common import (
    CLOCK_TICKS,
    Server,
    console,
    environment_line,
    exchange_simulator,
    fmt_ratio,
    median,
    new_table,
    percentile,
    petrosa_service,
    run,
)
from petrosa.contracts.market import DEFAULT_SYMBOLS, Market
from petrosa.exchange.binance.streams import Route, parse_stream
from petrosa.socketclient.connection import INCOMING_QUEUE_FRAMES, MAX_FRAME_BYTES
from petrosa.socketclient.metrics import Metrics
from petrosa.socketclient.nats_link import NatsLink
from petrosa.socketclient.pacing import connection_limiter
from petrosa.socketclient.slot import ConnectionSlot, SlotTiming

NATS_HOST, NATS_PORT = "127.0.0.1", 4222
NATS_URL = f"nats://{NATS_HOST}:{NATS_PORT}"
FIREHOSE_RATE = 1_000_000
"""Per stream: far above what one connection carries, so the receiver sets the pace."""
WARM_UP_S = 2.0
LAG_STREAMS = "kline_1m,aggTrade,depth@100ms,markPrice@1s"
OUT_METRIC = "socketclient_frames_out_total{"
IN_PROCESS_QUEUE = 20_000
IN_PROCESS_WINDOW = 2_000
IN_PROCESS_CONNECTS = 300


def pid_cpu_seconds(pid: int) -> float:
    """User+system CPU seconds of a process so far (nan when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def nats_server_pid() -> int | None:
    """The local nats-server's pid, if this user can see it (for its CPU time)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "nats-server":
                    return int(entry.name)
    return None


@dataclass
class Window:
    """One measured window: frames, seconds and the CPU seconds of each process."""

    frames: int
    seconds: float
    cpu: dict[str, float]
    delivered: int | None = None

    @property
    def rate(self) -> float:
        return self.frames / self.seconds


class CpuMeter:
    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = {name: pid for name, pid in pids.items() if pid is not None}
        self._start: dict[str, float] = {}

    def start(self) -> None:
        self._start = self._now()

    def stop(self) -> dict[str, float]:
        end = self._now()
        return {name: end[name] - self._start[name] for name in end}

    def _now(self) -> dict[str, float]:
        values = {name: pid_cpu_seconds(pid) for name, pid in self.pids.items()}
        values["bench"] = time.process_time()
        return values


def firehose_url(server: Server, symbols: list[str]) -> str:
    names = "/".join(f"{symbol.lower()}@aggTrade" for symbol in symbols)
    return f"ws://127.0.0.1:{server.port}/stream?streams={names}"


async def bare_round(server: Server, symbols: list[str], seconds: float, meter: CpuMeter) -> Window:
    """Receive and discard with the client's connection options."""
    async with connect(
        firehose_url(server, symbols),
        ping_interval=None,
        compression=None,
        max_size=MAX_FRAME_BYTES,
        max_queue=INCOMING_QUEUE_FRAMES,
    ) as socket:
        recv = socket.recv
        warm_until = time.perf_counter() + WARM_UP_S
        while time.perf_counter() < warm_until:
            await recv(decode=False)
        frames = 0
        meter.start()
        started = time.perf_counter()
        deadline = started + seconds
        while True:
            await recv(decode=False)
            frames += 1
            if frames & 1023 == 0 and time.perf_counter() >= deadline:
                break
        elapsed = time.perf_counter() - started
        return Window(frames, elapsed, meter.stop())


class MsgCounter:
    """A bare NATS subscriber: counts ``MSG``/``HMSG`` lines without parsing them."""

    def __init__(self, subject: str) -> None:
        self.subject = subject
        self.count = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        reader, writer = await asyncio.open_connection(NATS_HOST, NATS_PORT)
        await reader.readline()  # INFO
        connect_options = {"verbose": False, "pedantic": False, "headers": True}
        writer.write(b"CONNECT " + orjson.dumps(connect_options) + b"\r\n")
        writer.write(f"SUB {self.subject} 1\r\nPING\r\n".encode())
        await writer.drain()
        while (await reader.readline()).strip() != b"PONG":
            pass
        self._task = asyncio.create_task(self._count(reader, writer))

    async def _count(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tail = b""
        try:
            while chunk := await reader.read(1 << 20):
                data = tail + chunk
                self.count += data.count(b"MSG ") - tail.count(b"MSG ")
                if b"PING\r\n" in data and b"PING\r\n" not in tail:
                    writer.write(b"PONG\r\n")
                tail = data[-8:]
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def frames_out(http: httpx.AsyncClient) -> int:
    text = (await http.get("/metrics")).text
    return int(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(OUT_METRIC)
        )
    )


async def client_round(client: Server, seconds: float, meter: CpuMeter) -> Window:
    """The client's published frames over ``seconds``, and what a NATS subscriber received."""
    counter = MsgCounter("binance.spot.aggTrade.*")
    await counter.start()
    async with httpx.AsyncClient(base_url=client.base_url, timeout=30.0) as http:
        while await frames_out(http) == 0:  # noqa: ASYNC110 - another process's counter
            await asyncio.sleep(0.1)
        await asyncio.sleep(WARM_UP_S)
        meter.start()
        before, received_before = await frames_out(http), counter.count
        started = time.perf_counter()
        await asyncio.sleep(seconds)
        after, received_after = await frames_out(http), counter.count
        elapsed = time.perf_counter() - started
        cpu = meter.stop()
    await counter.stop()
    return Window(after - before, elapsed, cpu, delivered=received_after - received_before)


@contextlib.contextmanager
def socket_client(
    simulator: Server, *, market: str, symbols: list[str], streams: str, books: bool
) -> Iterator[Server]:
    simulator_url = f"http://127.0.0.1:{simulator.port}"
    env = {
        "BINANCE_WS_URL": simulator_url.replace("http", "ws"),
        "BINANCE_FUTURES_WS_URL": simulator_url.replace("http", "ws"),
        "BINANCE_API_URL": simulator_url,
        "BINANCE_FUTURES_API_URL": simulator_url,
        "NATS_URL": NATS_URL,
        "SOCKET_CLIENT_MARKETS": market,
        "SOCKET_CLIENT_SYMBOLS": ",".join(symbols),
        "SOCKET_CLIENT_STREAMS": streams,
        "SOCKET_CLIENT_BOOKS": "true" if books else "false",
        "SOCKET_CLIENT_CONFIG_POLL_S": "0",
    }
    with petrosa_service(
        ["socket-client", "serve", "--log-level", "warning"],
        env=env,
        ready_path="/health/liveness",
    ) as server:
        yield server


def throughput(args: argparse.Namespace) -> None:
    symbols = list(DEFAULT_SYMBOLS[: args.streams])
    bare: list[Window] = []
    through: list[Window] = []
    nats_pid = nats_server_pid()
    with exchange_simulator("--ws-firehose-rate", str(FIREHOSE_RATE)) as simulator:
        for _ in range(args.rounds):
            meter = CpuMeter({"simulator": simulator.process.pid, "nats": nats_pid})
            bare.append(run(bare_round(simulator, symbols, args.seconds, meter)))
            with socket_client(
                simulator, market="spot", symbols=symbols, streams="aggTrade", books=False
            ) as client:
                meter = CpuMeter(
                    {
                        "simulator": simulator.process.pid,
                        "client": client.process.pid,
                        "nats": nats_pid,
                    }
                )
                through.append(run(client_round(client, args.seconds, meter)))
    table = new_table(
        f"Firehose ({args.streams} spot aggTrade streams on one connection) → receiver; "
        "CPU seconds per second of wall time",
        ["round", "receiver", "frames/s", "delivered/s", "simulator", "client", "NATS", "bench"],
    )
    for index, (b, c) in enumerate(zip(bare, through, strict=True), 1):
        for name, window in (("bare loop", b), ("socket client", c)):
            per_s = {k: v / window.seconds for k, v in window.cpu.items()}
            delivered = (
                "" if window.delivered is None else f"{window.delivered / window.seconds:,.0f}"
            )
            table.add_row(
                str(index),
                name,
                f"{window.rate:,.0f}",
                delivered,
                f"{per_s.get('simulator', float('nan')):.2f}",
                f"{per_s['client']:.2f}" if "client" in per_s else "",
                f"{per_s['nats']:.2f}" if "nats" in per_s else "—",
                f"{per_s['bench']:.2f}",
            )
    bare_rate = median([w.rate for w in bare])
    client_rate = median([w.rate for w in through])
    table.add_row("median", "bare loop", f"{bare_rate:,.0f}", "", "", "", "", "")
    table.add_row("median", "socket client", f"{client_rate:,.0f}", "", "", "", "", "")
    table.add_row("ratio", "client / bare", fmt_ratio(client_rate / bare_rate), "", "", "", "", "")
    console.print(table)


async def lag_run(client: Server, seconds: float) -> dict[str, list[tuple[float, float]]]:
    """Per stream type: (event→received, received→delivered) seconds of every message."""
    lags: dict[str, list[tuple[float, float]]] = defaultdict(list)

    async def take(message: Msg) -> None:
        arrived_ms = time.time() * 1000
        token = message.subject.split(".")[2]
        if token == "book":
            return
        body = orjson.loads(message.data)
        event_ms, received_ms = body["event_time"], body["received_at"]
        if event_ms is not None:
            lags[token].append(((received_ms - event_ms) / 1000, (arrived_ms - received_ms) / 1000))

    async with httpx.AsyncClient(base_url=client.base_url, timeout=30.0) as http:
        deadline = time.monotonic() + 120
        while (await http.get("/health/readiness")).status_code != 200:
            assert time.monotonic() < deadline, "the client never became ready"
            await asyncio.sleep(0.2)
    listener = await nats.connect(NATS_URL)
    await listener.subscribe("binance.futures.>", cb=take)
    await asyncio.sleep(seconds)
    await listener.drain()
    return lags


def lag(args: argparse.Namespace) -> None:
    symbols = list(DEFAULT_SYMBOLS[:10])
    with (
        exchange_simulator("--symbols", ",".join(symbols)) as simulator,
        socket_client(
            simulator, market="futures", symbols=symbols, streams=LAG_STREAMS, books=True
        ) as client,
    ):
        lags = run(lag_run(client, args.lag_seconds))
    table = new_table(
        f"Lag, exchange event time → NATS delivery, ms ({len(symbols)} futures symbols, "
        f"{args.lag_seconds:g} s; event→received includes the simulator's 20 ms poll tick)",
        ["stream", "msgs/s", "p50", "p99", "max", "event→received p99", "received→NATS p99"],
    )
    everything: list[tuple[float, float]] = []
    for token in sorted(lags):
        everything.extend(lags[token])
        table.add_row(token, *_lag_cells(lags[token], args.lag_seconds))
    table.add_row("all", *_lag_cells(everything, args.lag_seconds))
    console.print(table)


def _lag_cells(values: list[tuple[float, float]], seconds: float) -> list[str]:
    total = sorted(a + b for a, b in values)
    first = sorted(a for a, _ in values)
    second = sorted(b for _, b in values)
    return [
        f"{len(values) / seconds:,.0f}",
        f"{percentile(total, 0.5) * 1000:.1f}",
        f"{percentile(total, 0.99) * 1000:.1f}",
        f"{total[-1] * 1000:.1f}" if total else "—",
        f"{percentile(first, 0.99) * 1000:.1f}",
        f"{percentile(second, 0.99) * 1000:.1f}",
    ]


async def in_process_round(server: Server, symbols: list[str], seconds: float) -> Window:
    """The firehose through one slot in this process; CPU is this process's."""
    metrics = Metrics()
    link = NatsLink(NATS_URL, jetstream_window=IN_PROCESS_WINDOW)
    link.start()
    await link.wait_connected()
    slot = ConnectionSlot(
        market=Market.SPOT,
        route=Route.SPOT,
        number=1,
        base_url=f"ws://127.0.0.1:{server.port}",
        capacity=len(symbols),
        link=link,
        metrics=metrics,
        connect_limiter=connection_limiter(IN_PROCESS_CONNECTS),
        timing=SlotTiming(3600.0, 1.0, 60.0, 5.0, 10.0),
        queue_size=IN_PROCESS_QUEUE,
        jetstream_window=IN_PROCESS_WINDOW,
    )
    for symbol in symbols:
        slot.place(parse_stream(f"{symbol.lower()}@aggTrade", Market.SPOT))
    slot.start()

    def published() -> int:
        return int(
            sum(
                sample.value
                for metric in metrics.frames_out.collect()
                for sample in metric.samples
                if sample.name.endswith("_total")
            )
        )

    try:
        while published() == 0:  # noqa: ASYNC110 - a counter, no event to wait on
            await asyncio.sleep(0.1)
        await asyncio.sleep(WARM_UP_S)
        before, cpu, started = published(), time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        frames = published() - before
        return Window(frames, time.perf_counter() - started, {"bench": time.process_time() - cpu})
    finally:
        await slot.stop(1.0)
        await link.close()


def in_process(args: argparse.Namespace) -> None:
    symbols = list(DEFAULT_SYMBOLS[: args.streams])
    with exchange_simulator("--ws-firehose-rate", str(FIREHOSE_RATE)) as simulator:
        windows = [
            run(in_process_round(simulator, symbols, args.seconds)) for _ in range(args.rounds)
        ]
    table = new_table(
        f"Firehose ({args.streams} spot aggTrade streams) → one slot in this process → NATS",
        ["round", "msgs/s", "CPU", "µs per message"],
    )
    for index, window in enumerate(windows, 1):
        cpu = window.cpu["bench"]
        table.add_row(
            str(index),
            f"{window.rate:,.0f}",
            f"{cpu / window.seconds:.2f}",
            f"{cpu / window.frames * 1e6:.2f}",
        )
    per_message = median([w.cpu["bench"] / w.frames * 1e6 for w in windows])
    table.add_row("median", "", "", f"{per_message:.2f}")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=4, help="firehose aggTrade streams")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lag-seconds", type=float, default=30.0)
    parser.add_argument("--skip", choices=["throughput", "lag"], default=None)
    parser.add_argument(
        "--in-process", action="store_true", help="only the in-process hot-path figure"
    )
    args = parser.parse_args()
    console.print(environment_line() + f" · pid {os.getpid()}")
    if args.in_process:
        in_process(args)
        return
    if args.skip != "throughput":
        throughput(args)
    if args.skip != "lag":
        lag(args)


if __name__ == "__main__":
    main()
