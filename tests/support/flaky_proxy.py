"""A fault-injecting HTTP/1.1 proxy: puts a real server behind an unreliable network.

::

    with FlakyProxy(dm_url) as proxy:
        proxy.fail_next(Fault.UNAVAILABLE, Fault.DROP)   # the next two requests fail
        proxy.fail_for(0.5, Fault.BAD_GATEWAY)           # then everything, for 0.5 s
        client = DataManagerClient(proxy.url)

Requests that are not failed are forwarded to the upstream server and its answers relayed.
The proxy runs its own event loop in a thread, so blocking clients and async clients on
the test's loop can both use it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter, deque
from enum import StrEnum
from types import TracebackType
from typing import Self

import httpx

from tests.support.server import free_port

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "content-encoding",
        "accept-encoding",
        "host",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
    }
)
_HEAD_END = b"\r\n\r\n"
_START_TIMEOUT_S = 5.0
_FORWARD_TIMEOUT_S = 30.0


class Fault(StrEnum):
    """What the proxy does instead of forwarding a request."""

    UNAVAILABLE = "503"
    """Answer 503 with ``Retry-After``, as the Data Manager does when its database is down."""
    BAD_GATEWAY = "502"
    """Answer 502, as a load balancer does when the service is gone."""
    DROP = "drop"
    """Close the connection without answering."""
    HANG = "hang"
    """Read the request and never answer (until the proxy stops)."""


class FlakyProxy:
    """A proxy on a free loopback port that fails requests as told, then forwards them."""

    def __init__(self, upstream: str, *, retry_after: str = "0") -> None:
        self.upstream = upstream
        self.retry_after = retry_after
        self.port = free_port()
        self.received = 0
        """Requests that arrived, failed or not."""
        self.forwarded = 0
        self.faults: Counter[Fault] = Counter()
        self._lock = threading.Lock()
        self._queued: deque[Fault] = deque()
        self._window: tuple[float, Fault] | None = None
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="flaky-proxy", daemon=True)
        self._stop: asyncio.Event | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, *faults: Fault) -> None:
        """Fail the next requests, one fault each, in order."""
        with self._lock:
            self._queued.extend(faults)

    def fail_for(self, seconds: float, fault: Fault) -> None:
        """Fail every request with ``fault`` for ``seconds`` from now."""
        with self._lock:
            self._window = (time.monotonic() + seconds, fault)

    def fail_always(self, fault: Fault) -> None:
        """Fail every request until ``recover()``."""
        self.fail_for(float("inf"), fault)

    def recover(self) -> None:
        """Forward every request from now on."""
        with self._lock:
            self._queued.clear()
            self._window = None

    def _next_fault(self) -> Fault | None:
        with self._lock:
            self.received += 1
            if self._queued:
                fault: Fault | None = self._queued.popleft()
            elif self._window is not None and time.monotonic() < self._window[0]:
                fault = self._window[1]
            else:
                fault = None
            if fault is None:
                self.forwarded += 1
            else:
                self.faults[fault] += 1
            return fault

    def start(self) -> Self:
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S):
            raise RuntimeError("flaky proxy did not start")
        return self

    def stop(self) -> None:
        if self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(_START_TIMEOUT_S)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with httpx.AsyncClient(base_url=self.upstream, timeout=_FORWARD_TIMEOUT_S) as client:
            server = await asyncio.start_server(
                lambda reader, writer: self._connection(reader, writer, client),
                "127.0.0.1",
                self.port,
            )
            self._ready.set()
            await self._stop.wait()
            server.close()
            for writer in list(self._connections):
                writer.transport.abort()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            await server.wait_closed()

    async def _connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, client: httpx.AsyncClient
    ) -> None:
        self._connections.add(writer)
        handler = asyncio.current_task()
        assert handler is not None  # asyncio runs every connection handler as a task
        self._handlers.add(handler)
        try:
            while await self._exchange(reader, writer, client):
                pass
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went away
        finally:
            self._connections.discard(writer)
            self._handlers.discard(handler)
            writer.transport.abort()

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, client: httpx.AsyncClient
    ) -> bool:
        """Serve one request; False when the connection must end."""
        head = (await reader.readuntil(_HEAD_END)).decode("latin-1")
        request_line, *header_lines = head[: -len(_HEAD_END)].split("\r\n")
        method, target, _version = request_line.split(" ", 2)
        headers = [
            (name.strip(), value.strip())
            for name, _, value in (line.partition(":") for line in header_lines)
        ]
        length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
        body = await reader.readexactly(length)

        fault = self._next_fault()
        if fault is Fault.DROP:
            return False
        if fault is Fault.HANG:
            assert self._stop is not None
            await self._stop.wait()
            return False
        if fault is Fault.UNAVAILABLE:
            await _respond(
                writer,
                503,
                b'{"detail":"database unavailable: injected fault"}',
                [("Retry-After", self.retry_after), ("Content-Type", "application/json")],
            )
            return True
        if fault is Fault.BAD_GATEWAY:
            await _respond(writer, 502, b"bad gateway", [("Content-Type", "text/plain")])
            return True

        forwarded = {k: v for k, v in headers if k.lower() not in _HOP_BY_HOP}
        forwarded["Accept-Encoding"] = "identity"
        try:
            answer = await client.request(method, target, headers=forwarded, content=body)
        except httpx.HTTPError:
            await _respond(writer, 502, b"upstream unreachable", [("Content-Type", "text/plain")])
            return True
        relayed = [(k, v) for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP]
        await _respond(writer, answer.status_code, answer.content, relayed)
        return True


async def _respond(
    writer: asyncio.StreamWriter, status: int, body: bytes, headers: list[tuple[str, str]]
) -> None:
    reason = httpx.codes.get_reason_phrase(status)
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers)]
    lines.append(f"Content-Length: {len(body)}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    await writer.drain()
