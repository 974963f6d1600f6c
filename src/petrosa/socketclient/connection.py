"""One WebSocket to a combined-stream endpoint, and its reader.

The websockets library answers the server's pings with their payload (Binance's
keep-alive); the client sends no pings of its own (``ping_interval=None``): each would
count against the 5 or 10 messages per second, and a dead connection is found by the
per-stream watchdog anyway. Open or closed is read from the connection's ``state``
(websockets ≥ 14 has no ``.closed``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable, Iterable

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from petrosa.socketclient.pacing import SlidingWindow

OPEN_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 5.0
MAX_FRAME_BYTES = 16 * 1024 * 1024
INCOMING_QUEUE_FRAMES = 1_024
"""Frames websockets reads ahead of the reader: enough to ride out a busy moment."""

_numbers = itertools.count(1)


def combined_url(base: str, path_prefix: str, names: Iterable[str]) -> str:
    """``<base><prefix>/stream?streams=a/b/c`` — combined streams, the only form used."""
    return f"{base.rstrip('/')}{path_prefix}/stream?streams={'/'.join(names)}"


class Connection:
    """An open WebSocket; ``reader`` runs until it closes, handing each message on."""

    def __init__(self, ws: ClientConnection, *, pacer: SlidingWindow) -> None:
        self.number = next(_numbers)
        self.ws = ws
        self.pacer = pacer
        self.opened_at = time.monotonic()
        self.first_data_at: float | None = None
        self.last_data_at: float | None = None
        self.delivered: set[str] = set()
        """Streams that delivered at least one frame on this connection."""
        self.reader: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str, *, pacer: SlidingWindow) -> Connection:
        ws = await connect(
            url,
            open_timeout=OPEN_TIMEOUT_S,
            close_timeout=CLOSE_TIMEOUT_S,
            ping_interval=None,
            compression=None,
            max_size=MAX_FRAME_BYTES,
            max_queue=INCOMING_QUEUE_FRAMES,
            proxy=None,
        )
        return cls(ws, pacer=pacer)

    @property
    def is_open(self) -> bool:
        return self.ws.state is State.OPEN

    def data_seconds(self) -> float:
        """How long this connection has been delivering data (0 if it never did)."""
        if self.first_data_at is None or self.last_data_at is None:
            return 0.0
        return self.last_data_at - self.first_data_at

    def start_reading(
        self,
        handle: Callable[[Connection, bytes], bool],
        relieved: Callable[[], Awaitable[None]],
    ) -> None:
        """Hand each message to ``handle``; when it returns True (congested), await
        ``relieved()`` before reading on (the frames wait in the socket, and TCP slows the
        server down)."""
        self.reader = asyncio.create_task(
            self._read(handle, relieved), name=f"ws-reader-{self.number}"
        )

    async def _read(
        self,
        handle: Callable[[Connection, bytes], bool],
        relieved: Callable[[], Awaitable[None]],
    ) -> None:
        recv = self.ws.recv
        with contextlib.suppress(ConnectionClosed):
            while True:
                message = await recv(decode=False)
                if isinstance(message, str):  # only with decode=True; kept for the types
                    message = message.encode()
                if handle(self, message):
                    await relieved()

    async def send(self, message: bytes) -> None:
        """A control message, after taking a slot from the connection's pacer."""
        await self.pacer.acquire()
        await self.ws.send(message, text=True)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), timeout=CLOSE_TIMEOUT_S + 1)
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader
