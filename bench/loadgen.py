"""A lean HTTP/1.1 keep-alive load generator (asyncio protocols, no HTTP library).

Each of ``connections`` sockets sends one GET, reads the answer (``Content-Length`` framed,
as uvicorn sends it) and sends the next at once: a closed loop like ``wrk -c N``. Per
request the client does a few bytes operations and nothing else, so one core drives tens
of thousands of requests per second — :func:`trivial_server` measures that ceiling.

Also runs ``wrk`` (when installed) with the same shape, as a cross-check.

Standalone use::

    python -m bench.loadgen http://127.0.0.1:8000/health/liveness -c 16 -d 10
    python -m bench.loadgen --ceiling     # the generator against a trivial server
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

from tests.support.server import free_port

from bench._common import (
    console,
    fmt_ms,
    fmt_rate,
    loop_name,
    new_table,
    percentile,
    run,
)

CpuProbe = Callable[[], float]


@dataclass
class LoadResult:
    label: str
    tool: str
    connections: int
    requests: int
    errors: int
    elapsed_s: float
    latencies_s: list[float] = field(repr=False)
    """Sorted; may be empty when only percentiles are known (wrk)."""
    p50_s: float = float("nan")
    p99_s: float = float("nan")
    client_cpu_s: float = float("nan")
    server_cpu_s: float = float("nan")

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s > 0 else float("nan")

    @property
    def client_cpu_pct(self) -> float:
        return 100 * self.client_cpu_s / self.elapsed_s

    @property
    def server_cpu_pct(self) -> float:
        return 100 * self.server_cpu_s / self.elapsed_s


class _Run:
    """Shared clock and tallies of one load run."""

    def __init__(self, warmup_s: float, duration_s: float) -> None:
        now = time.perf_counter()
        self.measure_from = now + warmup_s
        self.stop_at = self.measure_from + duration_s
        self.latencies: list[float] = []
        self.errors = 0
        self.unmeasured = 0


class _Connection(asyncio.Protocol):
    """One keep-alive connection: send, read one framed answer, send again."""

    def __init__(self, request: bytes, state: _Run) -> None:
        self.request = request
        self.state = state
        self.buffer = bytearray()
        self.body_end = -1
        self.status = 0
        self.sent_at = 0.0
        self.transport: asyncio.Transport | None = None
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def send(self) -> None:
        assert self.transport is not None
        self.sent_at = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while True:
            if self.body_end < 0:
                head_end = buffer.find(b"\r\n\r\n")
                if head_end < 0:
                    return
                head = bytes(buffer[:head_end]).lower()
                self.status = int(head[9:12])
                start = head.find(b"\r\ncontent-length:")
                if start < 0:
                    self._fail(RuntimeError("answer without Content-Length"))
                    return
                line_end = head.find(b"\r\n", start + 2)
                length = int(head[start + 17 : line_end if line_end > 0 else len(head)])
                self.body_end = head_end + 4 + length
            if len(buffer) < self.body_end:
                return
            del buffer[: self.body_end]
            self.body_end = -1
            self._answered()
            if self.finished.done():
                return

    def _answered(self) -> None:
        now = time.perf_counter()
        state = self.state
        if state.measure_from <= now < state.stop_at:
            if 200 <= self.status < 300:
                state.latencies.append(now - self.sent_at)
            else:
                state.errors += 1
        else:
            state.unmeasured += 1
        if now < state.stop_at:
            self.sent_at = now
            assert self.transport is not None
            self.transport.write(self.request)
        else:
            self._close()

    def _fail(self, error: BaseException) -> None:
        if not self.finished.done():
            self.finished.set_exception(error)
        if self.transport is not None:
            self.transport.close()

    def _close(self) -> None:
        if not self.finished.done():
            self.finished.set_result(None)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.finished.done():
            if exc is None and time.perf_counter() >= self.state.stop_at:
                self.finished.set_result(None)
            else:
                self.finished.set_exception(exc or ConnectionError("server closed the connection"))


def build_request(host: str, port: int, target: str, headers: dict[str, str] | None) -> bytes:
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}:{port}", "Accept: */*"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def http_load(
    url: str,
    *,
    connections: int = 16,
    duration_s: float = 10.0,
    warmup_s: float = 1.0,
    label: str = "",
    headers: dict[str, str] | None = None,
    server_cpu: CpuProbe | None = None,
) -> LoadResult:
    """Closed-loop GETs of ``url`` on ``connections`` keep-alive connections."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    request = build_request(host, port, target, headers)
    loop = asyncio.get_running_loop()
    state = _Run(warmup_s, duration_s)
    protocols: list[_Connection] = []
    for _ in range(connections):
        _transport, protocol = await loop.create_connection(
            lambda: _Connection(request, state), host, port
        )
        protocols.append(protocol)
    state = _Run(warmup_s, duration_s)  # restart the clock once every socket is open
    for protocol in protocols:
        protocol.state = state
        protocol.send()
    await asyncio.sleep(max(0.0, state.measure_from - time.perf_counter()))
    cpu0, server0 = time.process_time(), server_cpu() if server_cpu else float("nan")
    await asyncio.sleep(max(0.0, state.stop_at - time.perf_counter()))
    cpu1, server1 = time.process_time(), server_cpu() if server_cpu else float("nan")
    await asyncio.gather(*(p.finished for p in protocols))
    latencies = sorted(state.latencies)
    return LoadResult(
        label=label or target,
        tool="bench.loadgen",
        connections=connections,
        requests=len(latencies),
        errors=state.errors,
        elapsed_s=duration_s,
        latencies_s=latencies,
        p50_s=percentile(latencies, 0.50),
        p99_s=percentile(latencies, 0.99),
        client_cpu_s=cpu1 - cpu0,
        server_cpu_s=server1 - server0,
    )


# --------------------------------------------------------------------------- wrk


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


_WRK_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _wrk_seconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        return float("nan")
    return float(match.group(1)) * _WRK_UNITS[match.group(2)]


def wrk_load(
    url: str,
    *,
    connections: int = 16,
    duration_s: float = 10.0,
    label: str = "",
    server_cpu: CpuProbe | None = None,
) -> LoadResult:
    """``wrk -t1 -cN -dD --latency url``: one thread, as this machine has two cores."""
    server0 = server_cpu() if server_cpu else float("nan")
    started = time.perf_counter()
    completed = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration_s))}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - started
    server1 = server_cpu() if server_cpu else float("nan")
    out = completed.stdout
    requests = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if requests is None:
        raise RuntimeError(f"cannot read wrk output:\n{out}\n{completed.stderr}")
    wrk_elapsed = _wrk_seconds(requests.group(2) + requests.group(3))
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return LoadResult(
        label=label or url,
        tool="wrk -t1",
        connections=connections,
        requests=int(requests.group(1)) - errors,
        errors=errors,
        elapsed_s=wrk_elapsed,
        latencies_s=[],
        p50_s=_wrk_seconds(p50.group(1)) if p50 else float("nan"),
        p99_s=_wrk_seconds(p99.group(1)) if p99 else float("nan"),
        server_cpu_s=(server1 - server0) * wrk_elapsed / elapsed,
    )


# --------------------------------------------------------------------------- ceiling

_TRIVIAL_BODY = b'{"status":"ok"}'
_TRIVIAL_ANSWER = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(_TRIVIAL_BODY)).encode()
    + b"\r\n\r\n"
    + _TRIVIAL_BODY
)


class _TrivialProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        count = self.buffer.count(b"\r\n\r\n")
        if count:
            del self.buffer[: self.buffer.rfind(b"\r\n\r\n") + 4]
            assert self.transport is not None
            self.transport.write(_TRIVIAL_ANSWER * count)


async def _serve_trivial(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_TrivialProtocol, "127.0.0.1", port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


@contextlib.contextmanager
def trivial_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A separate process answering every GET with a fixed 200: the generator's ceiling."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.loadgen", "--serve-trivial", str(port)],
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != b"ready":
            raise RuntimeError("trivial server did not start")
        yield f"http://127.0.0.1:{port}/", process
    finally:
        process.terminate()
        process.wait(timeout=10)


def process_cpu(pid: int) -> CpuProbe:
    from bench._common import CLOCK_TICKS

    def probe() -> float:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    return probe


async def generator_ceiling(*, connections: int, duration_s: float, warmup_s: float) -> LoadResult:
    with trivial_server() as (url, process):
        return await http_load(
            url,
            connections=connections,
            duration_s=duration_s,
            warmup_s=warmup_s,
            label="generator ceiling (trivial server)",
            server_cpu=process_cpu(process.pid),
        )


# --------------------------------------------------------------------------- output


LOAD_COLUMNS = (
    "scenario", "tool", "conns", "req/s", "p50 ms", "p99 ms", "errors", "client CPU", "server CPU",
)  # fmt: skip


def _pct(value: float) -> str:
    return "—" if value != value else f"{value:.0f}%"


def load_row(result: LoadResult) -> list[str]:
    return [
        result.label,
        result.tool,
        str(result.connections),
        fmt_rate(result.rate),
        fmt_ms(result.p50_s),
        fmt_ms(result.p99_s),
        str(result.errors),
        _pct(result.client_cpu_pct),
        _pct(result.server_cpu_pct),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("url", nargs="?", help="URL to GET (http://127.0.0.1:PORT/path?query)")
    parser.add_argument("-c", "--connections", type=int, default=16)
    parser.add_argument("-d", "--duration", type=float, default=10.0, help="seconds measured")
    parser.add_argument("-w", "--warmup", type=float, default=1.0, help="seconds not measured")
    parser.add_argument("--ceiling", action="store_true", help="run against a trivial server")
    parser.add_argument("--serve-trivial", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_trivial:
        run(_serve_trivial(args.serve_trivial))
        return
    table = new_table(f"HTTP load ({loop_name()})", LOAD_COLUMNS, right_from=2)
    if args.ceiling or not args.url:
        result = run(
            generator_ceiling(
                connections=args.connections, duration_s=args.duration, warmup_s=args.warmup
            )
        )
        table.add_row(*load_row(result))
    if args.url:
        result = run(
            http_load(
                args.url,
                connections=args.connections,
                duration_s=args.duration,
                warmup_s=args.warmup,
            )
        )
        table.add_row(*load_row(result))
    console.print(table)


if __name__ == "__main__":
    main()
