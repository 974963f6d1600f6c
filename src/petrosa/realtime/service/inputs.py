"""The NATS subjects of one owned symbol, subscribed while its lease is held.

Core-NATS subscriptions per subject, never a queue group: every message of an owned symbol
reaches its one owner (a queue group would hand each replica a fraction of the books).
The maintained book (``binance.<m>.book.<S>``) is preferred; ``depth20_100ms`` stands in
only while no book arrived for ``book_grace_s`` (the socket client may run without books),
so the strategies never see two interleaved sources. On taking a symbol the latest book is
read from JetStream (``BINANCE_BOOKS`` keeps the last ones per subject), so the book
strategies start from the current market instead of waiting for the next publish.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.js.errors import Error as JetStreamError

from petrosa.contracts import Market
from petrosa.realtime import STALE_AFTER_MS, Feed
from petrosa.realtime.service.ownership import SymbolKey

log = logging.getLogger(__name__)

BOOKS_STREAM = "BINANCE_BOOKS"
STORED_BOOK_MAX_AGE_MS = STALE_AFTER_MS[Feed.DEPTH]
"""A stored book older than this (by the wall clock) is not used: it would be stale."""
BOOK = "book"
PARTIAL_DEPTH = "depth20_100ms"
STREAMS: dict[Market, tuple[str, ...]] = {
    Market.SPOT: (BOOK, PARTIAL_DEPTH, "aggTrade", "kline_1m"),
    Market.FUTURES: (BOOK, PARTIAL_DEPTH, "aggTrade", "markPrice_1s", "kline_1m"),
}
"""The stream tokens the strategies read, per market (STRATEGIES.md 4.1)."""

Deliver = Callable[[str, bytes], None]
"""Takes (subject, payload) of one message of the symbol."""


def subjects(key: SymbolKey) -> list[str]:
    return [f"binance.{key.market.value}.{token}.{key.symbol}" for token in STREAMS[key.market]]


class SymbolInputs:
    """The subscriptions of one symbol; ``deliver`` is called in arrival order per subject."""

    def __init__(
        self,
        key: SymbolKey,
        deliver: Deliver,
        *,
        book_grace_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.key = key
        self._deliver = deliver
        self._book_grace_s = book_grace_s
        self._clock = clock
        self._last_book: float | None = None
        self._subscriptions: list[Subscription] = []
        self.closed = False
        self.book_subject = f"binance.{key.market.value}.{BOOK}.{key.symbol}"

    async def start(self, client: Client) -> None:
        for subject in subjects(self.key):
            self._subscriptions.append(await client.subscribe(subject, cb=self._on_message))
        await self._latest_book(client)

    async def stop(self) -> None:
        self.closed = True
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            with contextlib.suppress(NatsError):
                await subscription.unsubscribe()

    def take(self, subject: str, payload: bytes) -> None:
        """One message: books always, partial depth only while no book is flowing."""
        if self.closed:
            return
        token = subject.split(".", 3)[2]
        if token == BOOK:
            self._last_book = self._clock()
        elif token == PARTIAL_DEPTH and self._book_flowing():
            return
        self._deliver(subject, payload)

    def _book_flowing(self) -> bool:
        return self._last_book is not None and self._clock() - self._last_book < self._book_grace_s

    async def _on_message(self, message: Msg) -> None:
        self.take(message.subject, message.data)

    async def _latest_book(self, client: Client) -> None:
        try:
            stored = await client.jetstream().get_last_msg(BOOKS_STREAM, self.book_subject)
        except (JetStreamError, NatsError, TimeoutError) as error:
            log.debug("no stored book for %s: %s", self.key.label, error)
            return
        if stored.data is not None and self._fresh(stored.data):
            self.take(self.book_subject, stored.data)

    def _fresh(self, payload: bytes) -> bool:
        """Whether a stored book is recent enough to stand for the market now. The stream
        keeps books for minutes: an old one would move the symbol's exchange time back
        and forth (and its update id may belong to another run of a simulator)."""
        try:
            event_ms = orjson.loads(payload).get("event_time")
        except (orjson.JSONDecodeError, AttributeError):
            return False
        if not isinstance(event_ms, int):
            return False
        return abs(time.time() * 1000 - event_ms) <= STORED_BOOK_MAX_AGE_MS
