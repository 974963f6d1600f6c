"""Order-book scenarios on the model: each shows its signature with margin against the
realtime strategies' defaults (STRATEGIES.md 4.2-4.4), the quiet book does not, and the diff
stream still rebuilds ``/depth`` exactly across a scenario's start and end."""

from __future__ import annotations

import statistics
from typing import Any

import pytest

from petrosa.exchange.simulator.book import STEP_MS, DepthChanges
from petrosa.exchange.simulator.instruments import MarketKind
from petrosa.exchange.simulator.scenarios.book_scenarios import Iceberg
from tests.support.depth import book_of, replay
from tests.unit.exchange.simulator.conftest import NOW_MS
from tests.unit.exchange.simulator.feeds_support import decode, feed_of
from tests.unit.exchange.simulator.scenario_support import (
    STEPS_PER_S,
    board_venue,
    book_at,
    depth5,
    imbalance,
    mid,
    qty_at,
    second_samples,
    spread_bps,
    start,
)

SPOT = MarketKind.SPOT


def test_iceberg_refills_at_one_price_seen_by_a_one_second_sampler() -> None:
    venue, _, board = board_venue()
    scenario = start(board, "iceberg")
    assert isinstance(scenario, Iceberg)
    first = scenario.window.start_ms // STEP_MS
    seconds = (scenario.window.end_ms - scenario.window.start_ms) // 1_000
    samples = [book_at(venue, SPOT, "BTCUSDT", s) for s in second_samples(first, seconds)]
    sizes = [qty_at(book, scenario.price) for book in samples]
    refills = [
        i
        for i in range(2, len(sizes))
        if sizes[i - 1] < 0.5 * sizes[i - 2] and sizes[i] > 0.8 * sizes[i - 2]
    ]
    assert len(refills) >= 3 * 5  # the detector needs 3 within 300 s
    for book in samples:
        assert abs(scenario.price - mid(book)) / mid(book) < 0.01  # within +-1 % of mid
        median = statistics.median(book.bids.qty[:20].tolist() + book.asks.qty[:20].tolist())
        assert max(sizes) >= 3 * median
        assert book.bids.price[0] < book.asks.price[0]
    before = book_at(venue, SPOT, "BTCUSDT", first - 1)
    quiet = venue.book(SPOT, "BTCUSDT").source.book(first - 1)
    assert qty_at(before, scenario.price) == qty_at(quiet, scenario.price)


def test_spread_blows_out_then_recovers_past_the_strategy_gates() -> None:
    venue, _, board = board_venue()
    scenario = start(board, "spread_blowout")
    first = scenario.window.start_ms // STEP_MS
    last = scenario.window.end_ms // STEP_MS - 1
    lookback = 20

    def kept(through: int) -> list[float]:
        return [
            spread_bps(book_at(venue, SPOT, "BTCUSDT", s))
            for s in range(through - lookback + 1, through + 1)
        ]

    quiet = kept(first - 1)
    assert max(quiet) < 1  # a liquid book: far under the 10 bps gate
    wide = book_at(venue, SPOT, "BTCUSDT", first)
    assert spread_bps(wide) > 2.5 * 10  # > 10 bps with margin
    assert spread_bps(wide) / statistics.mean(quiet[1:]) > 2.5
    depths = [
        depth5(book_at(venue, SPOT, "BTCUSDT", s)) for s in range(first - lookback + 1, first)
    ]
    assert 1 - depth5(wide) / statistics.mean(depths) > 0.6  # sell path wants > 0.5
    held = [
        spread_bps(book_at(venue, SPOT, "BTCUSDT", s)) for s in range(first, last + 1, STEPS_PER_S)
    ]
    assert min(held) > 25
    assert (last - first + 1) * STEP_MS >= 40_000  # the buy wants an event older than 30 s
    recovered = kept(last + 1)
    velocity = (recovered[-1] - recovered[0]) / recovered[0] / ((lookback - 1) * STEP_MS / 1_000)
    assert recovered[-1] < 1
    assert velocity < -0.5  # the most a 2 s lookback allows: -1 / 1.9 s
    assert recovered[-1] / statistics.mean(recovered[:-1]) < 2.5


@pytest.mark.parametrize(("side", "sign"), [("bid", 1), ("ask", -1)])
def test_imbalance_holds_past_the_trigger_for_the_whole_window(side: str, sign: int) -> None:
    venue, _, board = board_venue()
    scenario = start(board, "imbalance", params={"side": side})
    first = scenario.window.start_ms // STEP_MS
    seconds = (scenario.window.end_ms - scenario.window.start_ms) // 1_000
    books = [book_at(venue, SPOT, "BTCUSDT", s) for s in second_samples(first, seconds)]
    values = [sign * imbalance(book) for book in books]
    assert seconds >= 3 * 10  # persistence 10 s, three times over
    assert min(values) >= 0.40  # trigger 0.30
    assert statistics.mean(values) >= 0.55
    assert all(spread_bps(book) <= 10 for book in books)


def test_the_quiet_book_never_holds_an_imbalance_for_ten_seconds() -> None:
    venue, _, _ = board_venue()
    first = NOW_MS // STEP_MS
    books = [book_at(venue, SPOT, "BTCUSDT", s) for s in second_samples(first, 600)]
    values = [imbalance(book) for book in books]
    longest = run = 0
    for value in values:
        run = run + 1 if abs(value) >= 0.30 else 0
        longest = max(longest, run)
    assert longest < 10


@pytest.mark.parametrize("name", ["iceberg", "spread_blowout", "imbalance", "buy_burst"])
@pytest.mark.parametrize("kind", [MarketKind.SPOT, MarketKind.FUTURES])
@pytest.mark.parametrize("now_ms", [NOW_MS, NOW_MS // 60_000 * 60_000])
def test_diff_depth_rebuilds_the_snapshot_across_start_and_end(
    name: str, kind: MarketKind, now_ms: int
) -> None:
    """Also from a whole minute: a burst starting then must not move the book before it."""
    venue, clock, board = board_venue()
    clock.set(now_ms)
    market = kind.value
    feed = feed_of(venue, "btcusdt@depth@100ms", market, clock.now_ms())
    model = venue.book(kind, "BTCUSDT")
    snapshot = model.snapshot(model.step_at(clock.now_ms()))
    book = book_of(snapshot.bids, snapshot.asks)
    last_id = snapshot.last_update_id
    scenario = start(board, name, market=market, duration_s=3, params=_short(name))
    stop = scenario.window.end_ms + 1_000
    checked = 0
    while clock.now_ms() < stop:
        clock.advance(STEP_MS)
        for event in decode(feed.poll(clock.now_ms())):
            if kind is MarketKind.FUTURES:
                assert event["pu"] == last_id
            else:
                assert event["U"] == last_id + 1
            book = replay(book, _changes(event))
            last_id = event["u"]
        now_book = model.snapshot(model.step_at(clock.now_ms()))
        assert book == book_of(now_book.bids, now_book.asks)
        checked += 1
    assert checked >= 40


def _short(name: str) -> dict[str, float]:
    return {"fade_s": 1.0, "ramp_s": 1.0} if name == "buy_burst" else {}


def _changes(event: dict[str, Any]) -> DepthChanges:
    return DepthChanges(event["U"], event["u"], event.get("pu", 0), event["b"], event["a"])


@pytest.mark.parametrize("kind", [MarketKind.SPOT, MarketKind.FUTURES])
def test_the_quiet_book_shows_fewer_than_three_refills_at_any_bid(kind: MarketKind) -> None:
    """Quiet levels re-size now and then (every 3 s to 5 min): two draws in a row can look
    like one refill, but not the three in 300 s the detector needs (the margin is thin: at
    most two here)."""
    venue, _, _ = board_venue()
    seen: dict[int, list[tuple[int, int]]] = {}
    for step in second_samples(NOW_MS // STEP_MS, 300):
        book = book_at(venue, kind, "BTCUSDT", step)
        centre = mid(book)
        for price, qty in zip(book.bids.price.tolist(), book.bids.qty.tolist(), strict=True):
            if abs(price - centre) / centre < 0.01:
                seen.setdefault(price, []).append((step, qty))
    for observations in seen.values():
        refills = sum(
            1
            for (t0, q0), (_, q1), (t2, q2) in zip(
                observations, observations[1:], observations[2:], strict=False
            )
            if t2 - t0 <= 5 * STEPS_PER_S and q1 < 0.5 * q0 and q2 > 0.8 * q0
        )
        assert refills < 3
