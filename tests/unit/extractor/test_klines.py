"""Incremental extraction and gap repair, on in-memory fakes."""

from __future__ import annotations

from petrosa.contracts import Interval, Market
from petrosa.extractor.klines import KlineWindow, extract_klines
from tests.unit.extractor.fakes import FakeExchange, FakeStore

M5 = Interval.M5
FUTURES = Market.FUTURES
STEP = 300_000
NOW = 1_700_000_123_456
DAY = 86_400_000


def window(now: int = NOW) -> KlineWindow:
    return KlineWindow.ending_at(M5, until_ms=now, lookback_ms=DAY)


def test_window_holds_only_closed_candles() -> None:
    w = window()
    assert w.end == M5.floor(NOW)
    assert w.end <= NOW
    assert (w.end - w.start) // STEP == 288


async def test_first_run_fetches_the_window_and_second_only_new_candles() -> None:
    exchange, store = FakeExchange(NOW), FakeStore()
    first = await extract_klines(
        "BTCUSDT", M5, window(), source=exchange, store=store, market=FUTURES
    )
    assert (first.fetched, first.written, first.gaps_found) == (288, 288, 0)

    exchange.now = NOW + 3 * STEP
    exchange.requests.clear()
    second = await extract_klines(
        "BTCUSDT", M5, window(exchange.now), source=exchange, store=store, market=FUTURES
    )
    assert (second.fetched, second.written) == (3, 3)
    assert exchange.requests[0][0] == window().end  # resumed after the newest stored candle


async def test_the_event_names_the_newest_candle_stored_even_when_nothing_was_new() -> None:
    exchange, store = FakeExchange(NOW), FakeStore()
    first = await extract_klines(
        "BTCUSDT", M5, window(), source=exchange, store=store, market=FUTURES
    )
    assert first.event().last_open_time == window().end - STEP
    again = await extract_klines(
        "BTCUSDT", M5, window(), source=exchange, store=store, market=FUTURES
    )
    assert again.written == 0
    assert again.event().last_open_time == window().end - STEP


async def test_gaps_are_found_and_filled() -> None:
    exchange, store = FakeExchange(NOW), FakeStore()
    await extract_klines("BTCUSDT", M5, window(), source=exchange, store=store, market=FUTURES)
    w = window()
    for t in (w.start + 10 * STEP, w.start + 11 * STEP, w.start + 100 * STEP):
        del store.klines[t]
    outcome = await extract_klines("BTCUSDT", M5, w, source=exchange, store=store, market=FUTURES)
    assert (outcome.gaps_found, outcome.gaps_filled, outcome.fetched) == (2, 2, 3)
    assert len(store.klines) == 288


async def test_gap_the_exchange_cannot_fill_is_reported() -> None:
    w = window()
    hole = w.start + 5 * STEP
    exchange, store = FakeExchange(NOW, missing={hole}), FakeStore()
    outcome = await extract_klines("BTCUSDT", M5, w, source=exchange, store=store, market=FUTURES)
    assert (outcome.gaps_found, outcome.gaps_filled) == (1, 0)
    assert outcome.notes == ["1 candles missing at the exchange too"]


async def test_dry_run_fetches_and_writes_nothing() -> None:
    exchange, store = FakeExchange(NOW), FakeStore()
    outcome = await extract_klines(
        "BTCUSDT", M5, window(), source=exchange, store=store, market=FUTURES, dry_run=True
    )
    assert (outcome.fetched, outcome.written, store.writes) == (288, 0, 0)


async def test_every_store_call_names_the_run_market() -> None:
    exchange, store = FakeExchange(NOW), FakeStore()
    outcome = await extract_klines("BTCUSDT", M5, window(), source=exchange, store=store,
                                   market=Market.SPOT)  # fmt: skip
    assert store.markets == {Market.SPOT}
    assert outcome.event().market is Market.SPOT
