"""Maintained order books: one ``BookKeeper`` per symbol, published at a bounded rate.

The diff-depth frames reach the keeper from the slot's reader, in stream order, after
duplicates of a rotation overlap were dropped (``slot``), and independently of NATS: the
book keeps syncing while NATS is away. Every ``1 / rate`` seconds each book that changed
and is synced is published on ``binance.<market>.book.<SYMBOL>`` (JetStream
``BINANCE_BOOKS``); between two ticks the latest state wins. An unsynced book (waiting for
its snapshot, or after a gap) is never published.

Message: ``{"market", "symbol", "last_update_id", "event_time", "bids", "asks"}`` with the
top levels as Binance wrote them (decimal strings), id ``book:<market>:<SYMBOL>:<id>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from nats.errors import Error as NatsError

from petrosa.socketclient.book_sync import BookKeeper, SnapshotFetcher
from petrosa.socketclient.frames import event_time
from petrosa.socketclient.metrics import Metrics
from petrosa.socketclient.nats_link import NatsLink
from petrosa.socketclient.plan import BookKey
from petrosa.socketclient.publisher import MSG_ID_HEADER

log = logging.getLogger(__name__)

ACK_WAIT_S = 5.0


@dataclass(eq=False)
class MaintainedBook:
    key: BookKey
    keeper: BookKeeper
    changed: bool = False
    event_ms: int | None = None
    resyncs_counted: int = 0
    published_id: int | None = None
    created_at: float = field(default_factory=time.monotonic)

    def feed(self, data: Any) -> None:
        if isinstance(data, Mapping):
            self.keeper.feed(data)
            self.changed = True
            self.event_ms = event_time(data)


def book_message(book: MaintainedBook, levels: int) -> tuple[bytes, str]:
    """The published bytes and message id of a synced book."""
    keeper = book.keeper
    bids, asks = keeper.book.top(levels)
    update_id = keeper.last_update_id
    body = {
        "market": book.key.market.value,
        "symbol": book.key.symbol,
        "last_update_id": update_id,
        "event_time": book.event_ms,
        "bids": bids,
        "asks": asks,
    }
    msg_id = f"book:{book.key.market.value}:{book.key.symbol}:{update_id}"
    return orjson.dumps(body), msg_id


class BookDesk:
    """Every maintained book of the service, and the task that publishes them."""

    def __init__(
        self,
        link: NatsLink,
        metrics: Metrics,
        *,
        levels: int,
        publishes_per_s: float,
        snapshot_limit: int | None,
    ) -> None:
        self.link = link
        self.metrics = metrics
        self.levels = levels
        self.interval_s = 1.0 / publishes_per_s
        self.snapshot_limit = snapshot_limit
        self.books: dict[BookKey, MaintainedBook] = {}
        self._task: asyncio.Task[None] | None = None

    def add(self, key: BookKey, fetch: SnapshotFetcher) -> MaintainedBook:
        book = MaintainedBook(
            key, BookKeeper(key.market, key.symbol, fetch, limit=self.snapshot_limit)
        )
        self.books[key] = book
        return book

    async def remove(self, key: BookKey) -> None:
        book = self.books.pop(key, None)
        if book is not None:
            await book.keeper.aclose()

    def start(self) -> None:
        self._task = asyncio.create_task(self._publish_forever(), name="book-publisher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for book in list(self.books.values()):
            await book.keeper.aclose()

    def problems(self) -> list[str]:
        return [
            f"book {key.market.value} {key.symbol}: not synced"
            for key, book in self.books.items()
            if not book.keeper.synced
        ]

    async def _publish_forever(self) -> None:
        while True:
            started = time.monotonic()
            self._count_resyncs()
            if self.link.connected:
                await self.publish_changed()
            await asyncio.sleep(max(0.0, self.interval_s - (time.monotonic() - started)))

    def _count_resyncs(self) -> None:
        for book in self.books.values():
            resyncs = book.keeper.resyncs
            if resyncs > book.resyncs_counted:
                self.metrics.resyncs.labels(book.key.market.value).inc(
                    resyncs - book.resyncs_counted
                )
                book.resyncs_counted = resyncs

    async def publish_changed(self) -> None:
        """Publish each changed, synced book once; wait for the acks (bounded)."""
        js = self.link.js
        assert js is not None
        acks: list[tuple[asyncio.Future[Any], MaintainedBook]] = []
        for book in list(self.books.values()):
            if not book.changed or not book.keeper.synced:
                continue
            if book.keeper.last_update_id == book.published_id:
                book.changed = False
                continue
            payload, msg_id = book_message(book, self.levels)
            try:
                future = await js.publish_async(
                    book.key.subject, payload, headers={MSG_ID_HEADER: msg_id}
                )
            except (NatsError, OSError) as error:
                log.debug("book publish paused: %s", error)
                return
            book.changed = False
            book.published_id = book.keeper.last_update_id
            acks.append((future, book))
        if not acks:
            return
        done, pending = await asyncio.wait([f for f, _ in acks], timeout=ACK_WAIT_S)
        for future in pending:
            future.cancel()
        for future, book in acks:
            market = book.key.market.value
            if future in done and not future.cancelled() and future.exception() is None:
                self.metrics.book_publishes.labels(market).inc()
            else:
                self.metrics.unconfirmed.labels(market).inc()
                book.changed = True  # try again with the latest state next tick
                book.published_id = None
