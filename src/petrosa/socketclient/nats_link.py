"""The NATS side: one connection made in the background, and the JetStream streams.

Which subjects are kept (JetStream) and which are fire-and-forget (core NATS):

======================================  ==============  ====================================
subjects                                JetStream       why
======================================  ==============  ====================================
``binance.*.kline_<i>.*``               BINANCE_KLINES  consumers replay recent candles after
                                                        a restart; a closed candle is sent
                                                        once
``binance.*.book.*``                    BINANCE_BOOKS   a consumer starting up wants the
                                                        latest book at once
everything else (aggTrade, trade,       core NATS       a missed tick is superseded by the
depth, bookTicker, markPrice…)                          next within milliseconds to seconds
======================================  ==============  ====================================

Each message carries ``Nats-Msg-Id`` (its deterministic id); JetStream drops a repeat
within the duplicate window, so a rotation's overlap is stored once.

The service must run while NATS is away, so the first connection is made in the background
and retried forever; once made, nats-py redials by itself. Nothing is buffered inside
nats-py while disconnected (a publish fails at once); the publishers hold frames in their
own bounded queues instead, and count what they drop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from petrosa.bus import BusUnavailable, connect_nats
from petrosa.exchange.binance.streams import KLINE_INTERVALS

log = logging.getLogger(__name__)

KLINES_STREAM = "BINANCE_KLINES"
BOOKS_STREAM = "BINANCE_BOOKS"
DUPLICATE_WINDOW_S = 120.0
"""Longer than any rotation overlap or reconnect replay."""
KLINE_SUBJECTS = [f"binance.*.kline_{interval}.*" for interval in KLINE_INTERVALS]
"""NATS wildcards match whole tokens, so each interval is listed."""
BOOK_SUBJECTS = ["binance.*.book.*"]
KLINES_MAX_AGE_S = 6 * 3600.0
KLINES_MAX_BYTES = 2 * 1024**3
BOOKS_MAX_AGE_S = 600.0
BOOKS_PER_SUBJECT = 100
"""The latest books of each symbol; older ones only matter to nobody."""
RETRY_S = 2.0
PUBLISH_ASYNC_HEADROOM = 1_000


def stream_configs() -> list[StreamConfig]:
    return [
        StreamConfig(
            name=KLINES_STREAM,
            subjects=KLINE_SUBJECTS,
            storage=StorageType.FILE,
            max_age=KLINES_MAX_AGE_S,
            max_bytes=KLINES_MAX_BYTES,
            discard=DiscardPolicy.OLD,
            duplicate_window=DUPLICATE_WINDOW_S,
        ),
        StreamConfig(
            name=BOOKS_STREAM,
            subjects=BOOK_SUBJECTS,
            storage=StorageType.FILE,
            max_age=BOOKS_MAX_AGE_S,
            max_msgs_per_subject=BOOKS_PER_SUBJECT,
            discard=DiscardPolicy.OLD,
            duplicate_window=DUPLICATE_WINDOW_S,
        ),
    ]


class NatsLink:
    """The service's NATS connection; ``client`` is None until the first connect succeeded."""

    def __init__(self, url: str, *, jetstream_window: int, name: str = "socket-client") -> None:
        self.url = url
        self.name = name
        self.client: Client | None = None
        self.js: JetStreamContext | None = None
        self.streams_ready = False
        self._jetstream_window = jetstream_window
        self._task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self.client is not None and self.client.is_connected and self.streams_ready

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect_forever(), name="nats-connect")

    async def wait_connected(self, poll_s: float = 0.05) -> Client:
        """The client once connected (after an outage too); waits without a deadline."""
        # nats-py's state has no awaitable, and connect_nats owns its callbacks: poll.
        while not self.connected:  # noqa: ASYNC110
            await asyncio.sleep(poll_s)
        assert self.client is not None
        return self.client

    async def _connect_forever(self) -> None:
        while self.client is None:
            try:
                # Every subject is binance.<market>.<type>.<SYMBOL> from a stream the plan
                # validated at start, so nats-py's check per publish is skipped.
                self.client = await connect_nats(self.url, name=self.name, trusted_subjects=True)
            except BusUnavailable as error:
                log.warning("NATS not reachable yet (%s); retrying in %.0f s", error, RETRY_S)
                await asyncio.sleep(RETRY_S)
        self.js = self.client.jetstream(
            publish_async_max_pending=self._jetstream_window + PUBLISH_ASYNC_HEADROOM
        )
        while not self.streams_ready:
            try:
                await ensure_streams(self.js)
                self.streams_ready = True
                log.info("NATS connected at %s; JetStream streams ready", self.url)
            except (NatsError, OSError, TimeoutError) as error:
                log.warning("JetStream streams not ready (%s); retrying", error)
                await asyncio.sleep(RETRY_S)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.client.drain(), timeout=5.0)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.client.close(), timeout=5.0)


async def ensure_streams(js: JetStreamContext) -> None:
    """Create the streams, or bring existing ones to this configuration."""
    for config in stream_configs():
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)
