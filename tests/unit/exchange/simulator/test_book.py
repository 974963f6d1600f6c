"""The synthetic order book: diffs replayed on a snapshot give the later snapshot exactly,
from any step of the diff's span; update ids follow Binance's spot and futures rules; the book
is sane (sorted, bids under asks, around the last trade, on the tick and lot grids) and it
moves every step by a realistic handful of levels."""

from __future__ import annotations

import itertools
import statistics
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from petrosa.exchange.simulator.book import (
    BOOK_LEVELS,
    STEP_MS,
    BookModel,
    DepthSnapshot,
)
from petrosa.exchange.simulator.instruments import Contract, Instrument, MarketKind, instrument_for
from petrosa.exchange.simulator.market import SyntheticMarket
from petrosa.exchange.simulator.prices import last_price
from tests.support.depth import Book, book_of, replay
from tests.unit.exchange.simulator.conftest import LISTING_MS, NOW_MS, SEED

PAD = {MarketKind.SPOT: 8, MarketKind.FUTURES: 0}
SYMBOLS = ("BTCUSDT", "ETHUSDT", "ADAUSDT", "XLMUSDT", "FOOUSDT")
NOW_STEP = NOW_MS // STEP_MS
DAY_STEPS = 86_400_000 // STEP_MS
MAX_SPAN = 30
"""Steps per diff in the property tests: a 1 s spot event covers 10."""
PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _model(
    symbol: str = "BTCUSDT", kind: MarketKind = MarketKind.SPOT, seed: int = SEED
) -> BookModel:
    market = SyntheticMarket(instrument_for(symbol), kind, seed=seed, listing_ms=LISTING_MS)
    return BookModel(market, pad_decimals=PAD[kind])


def _sides(snapshot: DepthSnapshot) -> Book:
    return book_of(snapshot.bids, snapshot.asks)


models = st.builds(
    _model,
    symbol=st.sampled_from(SYMBOLS),
    kind=st.sampled_from(list(MarketKind)),
    seed=st.integers(0, 2**16),
)
steps = st.integers(NOW_STEP - 30 * DAY_STEPS, NOW_STEP)
spans = st.integers(1, MAX_SPAN)


@PROPERTY_SETTINGS
@given(model=models, a=steps, first=spans, second=spans, data=st.data())
def test_diffs_replayed_on_a_snapshot_give_the_later_snapshot(
    model: BookModel, a: int, first: int, second: int, data: st.DataObject
) -> None:
    b, c = a + first, a + first + second
    ab, bc = model.changes(a, b), model.changes(b, c)
    at_b = replay(_sides(model.snapshot(a)), ab)
    assert at_b == _sides(model.snapshot(b))
    assert replay(at_b, bc) == _sides(model.snapshot(c))
    # a snapshot taken inside a diff's span syncs with that diff too (Binance's rule 4)
    inside = data.draw(st.integers(a, b), label="inside")
    assert replay(_sides(model.snapshot(inside)), ab) == _sides(model.snapshot(b))


@PROPERTY_SETTINGS
@given(model=models, a=steps, first=spans, second=spans)
def test_update_ids_follow_the_market_rules(
    model: BookModel, a: int, first: int, second: int
) -> None:
    b, c = a + first, a + first + second
    ab, bc = model.changes(a, b), model.changes(b, c)
    assert ab.last_update_id == model.update_id(b) == model.snapshot(b).last_update_id
    assert ab.previous_update_id == model.update_id(a)
    assert bc.previous_update_id == ab.last_update_id
    assert model.update_id(a) < model.update_id(a + 1)
    for event in (ab, bc):
        assert event.previous_update_id < event.first_update_id <= event.last_update_id
    if model.kind is MarketKind.SPOT:
        assert bc.first_update_id == ab.last_update_id + 1
    else:  # U may leave a gap after pu, but never past the next step's id
        assert bc.first_update_id <= model.update_id(b + 1)


@PROPERTY_SETTINGS
@given(model=models, step=steps)
def test_the_book_is_sane_at_any_step(model: BookModel, step: int) -> None:
    snapshot = model.snapshot(step)
    bids = [(Decimal(p), Decimal(q)) for p, q in snapshot.bids]
    asks = [(Decimal(p), Decimal(q)) for p, q in snapshot.asks]
    assert len(bids) == len(asks) == BOOK_LEVELS
    assert all(x[0] > y[0] for x, y in itertools.pairwise(bids))
    assert all(x[0] < y[0] for x, y in itertools.pairwise(asks))
    assert bids[0][0] < asks[0][0]
    assert all(q > 0 for _, q in bids + asks)
    rules = model.market.contract
    tick, lot = Decimal(1).scaleb(-rules.price_decimals), Decimal(1).scaleb(-rules.qty_decimals)
    assert all(p % tick == 0 and q % lot == 0 for p, q in bids + asks)
    last = last_price(model.market, step * STEP_MS)
    assert bids[0][0] <= last <= asks[0][0]
    assert asks[0][0] - bids[0][0] <= 3 * tick
    best = model.best(step)
    assert (best.bid_price, best.bid_qty) == snapshot.bids[0]
    assert (best.ask_price, best.ask_qty) == snapshot.asks[0]
    assert best.update_id == snapshot.last_update_id


@pytest.mark.parametrize("kind", list(MarketKind))
@pytest.mark.parametrize("symbol", SYMBOLS)
def test_every_step_moves_a_handful_of_levels(symbol: str, kind: MarketKind) -> None:
    model = _model(symbol, kind)
    sizes = [
        len(event.bids) + len(event.asks)
        for event in (model.changes(step, step + 1) for step in range(NOW_STEP, NOW_STEP + 300))
    ]
    assert sum(1 for size in sizes if size == 0) <= 3  # a silent stream is the exception
    assert 5 <= statistics.median(sizes) <= 100  # more when the price is busy


def test_numbers_are_formatted_as_the_market_formats_them() -> None:
    spot, futures = _model("BTCUSDT", MarketKind.SPOT), _model("BTCUSDT", MarketKind.FUTURES)
    price, qty = spot.snapshot(NOW_STEP, 1).bids[0]
    assert len(price.split(".")[1]) == len(qty.split(".")[1]) == 8
    price, qty = futures.snapshot(NOW_STEP, 1).bids[0]
    assert len(price.split(".")[1]) == 1  # tick 0.1
    assert len(qty.split(".")[1]) == 3  # lot 0.001
    ada = _model("ADAUSDT", MarketKind.FUTURES).snapshot(NOW_STEP, 1).asks[0]
    assert "." not in ada[1]  # whole contracts
    for model, zero in ((spot, "0.00000000"), (futures, "0.000")):
        event = model.changes(NOW_STEP, NOW_STEP + 50)
        removed = {qty for _, qty in event.bids + event.asks if Decimal(qty) == 0}
        assert removed == {zero}


def test_two_models_agree_and_seeds_differ() -> None:
    one, two = _model("ETHUSDT", MarketKind.FUTURES), _model("ETHUSDT", MarketKind.FUTURES)
    assert two.changes(NOW_STEP + 3, NOW_STEP + 9) == one.changes(NOW_STEP + 3, NOW_STEP + 9)
    assert one.snapshot(NOW_STEP) == two.snapshot(NOW_STEP)
    assert one.best(NOW_STEP + 1) == two.best(NOW_STEP + 1)
    other = _model("ETHUSDT", MarketKind.FUTURES, seed=SEED + 1)
    assert other.snapshot(NOW_STEP).bids != one.snapshot(NOW_STEP).bids
    spot = _model("ETHUSDT", MarketKind.SPOT)
    assert spot.update_id(NOW_STEP) != one.update_id(NOW_STEP)


def test_limits_ids_and_steps() -> None:
    model = _model()
    top = model.snapshot(NOW_STEP, 5)
    whole = model.snapshot(NOW_STEP)
    assert top.bids == whole.bids[:5]
    assert top.asks == whole.asks[:5]
    assert model.snapshot(NOW_STEP, 5_000) == whole
    assert model.step_at(NOW_STEP * STEP_MS) == model.step_at(NOW_STEP * STEP_MS + 99) == NOW_STEP
    assert 10**10 < model.update_id(NOW_STEP) < 10**12
    assert 10**12 < _model(kind=MarketKind.FUTURES).update_id(NOW_STEP) < 10**14
    with pytest.raises(ValueError, match="no steps"):
        model.changes(NOW_STEP, NOW_STEP)
    with pytest.raises(ValueError, match="at least one level"):
        model.snapshot(NOW_STEP, 0)


def test_a_long_span_still_replays_exactly() -> None:
    model = _model("FOOUSDT", MarketKind.FUTURES)
    start, end = NOW_STEP, NOW_STEP + 600  # a minute
    event = model.changes(start, end)
    for inside in (start, start + 299, end):
        assert replay(_sides(model.snapshot(inside)), event) == _sides(model.snapshot(end))


def test_prices_beyond_the_text_cache_keys_are_exact() -> None:
    rules = Contract(2, 3, 50_000, 500.0, "5")
    giant = Instrument("GIANTUSDT", "GIANT", "USDT", 3.0e7, 0.03, rules, rules)
    market = SyntheticMarket(giant, MarketKind.SPOT, seed=SEED, listing_ms=LISTING_MS)
    model = BookModel(market, pad_decimals=8)
    snapshot = model.snapshot(NOW_STEP)
    assert Decimal(snapshot.bids[0][0]) * 100 > 2**31  # ticks past the cache's key range
    assert replay(_sides(snapshot), model.changes(NOW_STEP, NOW_STEP + 3)) == _sides(
        model.snapshot(NOW_STEP + 3)
    )
