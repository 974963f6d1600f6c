"""``<symbol>@bookTicker``: the best bid and ask each time they change, checked at every book
step (Binance pushes it in real time). After a long jump of the clock only the last
``MAX_STEPS_PER_POLL`` steps are checked: quotes older than that are stale to any client."""

from __future__ import annotations

from petrosa.contracts.market import Market
from petrosa.exchange.binance.streams import Stream
from petrosa.exchange.simulator.feeds.base import MAX_EVENTS_PER_POLL, encode
from petrosa.exchange.simulator.feeds.book_source import OrderBook, Quote, step_time

MAX_STEPS_PER_POLL = MAX_EVENTS_PER_POLL


def _prices(quote: Quote) -> tuple[str, str, str, str]:
    return quote.bid_price, quote.bid_qty, quote.ask_price, quote.ask_qty


class BookTickerFeed:
    """Best quotes of one symbol."""

    def __init__(self, book: OrderBook, stream: Stream, now_ms: int) -> None:
        self.stream = stream
        self._book = book
        self._futures = stream.type.market is Market.FUTURES
        self._step = book.step_at(now_ms)
        self._quote = _prices(book.best(self._step))
        """What the client has: the quote at the start counts as known (nothing changed)."""

    def poll(self, now_ms: int) -> list[bytes]:
        last = self._book.step_at(now_ms)
        first = max(self._step + 1, last - MAX_STEPS_PER_POLL + 1)
        events = []
        for step in range(first, last + 1):
            quote = self._book.best(step)
            prices = _prices(quote)
            if prices != self._quote:
                self._quote = prices
                events.append(encode(self._payload(quote, step)))
        self._step = max(self._step, last)
        return events

    def _payload(self, quote: Quote, step: int) -> dict[str, object]:
        symbol = self.stream.symbol
        tail = {
            "s": symbol,
            "b": quote.bid_price,
            "B": quote.bid_qty,
            "a": quote.ask_price,
            "A": quote.ask_qty,
        }
        if not self._futures:
            return {"u": quote.update_id, **tail}
        at = step_time(step)
        return {"e": "bookTicker", "u": quote.update_id, "E": at, "T": at, **tail}
