"""iceberg_detector: a level that refills (or holds a large, steady size) fires once for
its side; a quiet book does not; leaving the top 20 because the price moved is not
absence; level histories stay bounded."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from petrosa.realtime import BookSnapshot, Side
from petrosa.realtime.risk import RiskUnit
from petrosa.realtime.strategies import IcebergDetector, IcebergParams
from tests.unit.realtime.tape import BookShape, at, books, engine_for, event_ms, run

REFILL = (10.0, 10.0, 3.0, 10.0)  # eaten to 3, refilled to 10: one refill per cycle
# Between the regular levels: a price first seen when the scenario starts (a level present
# for 180 s that turns large is an anchor, not a refill).


def refilling(side: str, price: float, start: float = 400) -> Callable[[float], BookShape]:
    def shape(seconds: float) -> BookShape:
        if seconds < start:
            return BookShape()
        return BookShape(extra={(side, price): REFILL[round(seconds * 10) % len(REFILL)]})

    return shape


def test_quiet_book_is_silent() -> None:
    assert run(engine_for("iceberg_detector"), books(0, 700, lambda s: BookShape())) == []


@pytest.mark.parametrize(
    ("side", "price", "action"), [("bid", 99.955, "buy"), ("ask", 100.045, "sell")]
)
def test_a_refilling_level_fires_once_for_its_side(side: str, price: float, action: str) -> None:
    out = run(engine_for("iceberg_detector"), books(0, 500, refilling(side, price)))
    assert [e.signal.action.value for e in out] == [action]
    signal = out[0].signal
    inputs = signal.metadata["inputs"]
    assert (inputs["match"], inputs["refills"], inputs["level_price"]) == ("refill", 3, price)
    assert signal.confidence == pytest.approx(0.65 + 0.05 * 3)
    assert at(400) < event_ms(signal) < at(402)  # the third cycle
    mid = float(signal.price)
    sign = 1 if action == "buy" else -1
    distance = 0.005 * mid  # |mid − level| = 0.045 is under the 0.5 % floor
    assert float(signal.stop_loss or 0) == pytest.approx(price - sign * distance)
    assert float(signal.take_profit or 0) == pytest.approx(mid + sign * 2.5 * distance)


def test_a_large_steady_level_is_consistent_after_120_s() -> None:
    def shape(seconds: float) -> BookShape:
        return BookShape(extra={("bid", 99.955): 20.0}) if seconds >= 350 else BookShape()

    out = run(engine_for("iceberg_detector"), books(0, 600, shape))
    assert len(out) == 1
    signal = out[0].signal
    assert signal.metadata["inputs"]["match"] == "consistent"
    assert signal.confidence == 0.70
    assert at(470) < event_ms(signal) <= at(470.2)


def test_a_refilling_level_before_warm_up_is_not_published() -> None:
    engine = engine_for("iceberg_detector")
    assert run(engine, books(0, 100, refilling("bid", 99.955, start=10))) == []
    assert engine.stats.strategies["iceberg_detector"].warming_suppressed == 1


def _book_at(time_s: float, mid: float, extra: dict[tuple[str, float], float]) -> BookSnapshot:
    return next(iter(books(time_s, time_s + 0.1, lambda s: BookShape(mid=mid, extra=extra))))


def test_leaving_the_top_20_is_not_absence_missing_inside_the_range_is() -> None:
    detector = IcebergDetector(IcebergParams(), RiskUnit())
    level = (Side.BUY, 99.95)
    detector.on_event(_book_at(0, 100.0, {}))
    began = detector.levels[level].present_since
    assert began == at(0)
    detector.on_event(_book_at(1, 100.5, {}))  # bids now 100.49…100.30: 99.95 out of range
    assert detector.levels[level].present_since == began
    detector.on_event(_book_at(2, 100.0, {}))
    assert detector.levels[level].present_since == began
    book = _book_at(3, 100.0, {})
    index = book.bid_prices.index(99.95)
    without = type(book)(
        book.market, book.symbol, book.time_ms,
        book.bid_prices[:index] + book.bid_prices[index + 1 :],
        book.bid_qtys[:index] + book.bid_qtys[index + 1 :],
        book.ask_prices, book.ask_qtys,
    )  # fmt: skip
    detector.on_event(without)
    assert detector.levels[level].present_since is None
    assert detector.levels[level].size == 0.0


def test_level_histories_are_forgotten_and_bounded() -> None:
    detector = IcebergDetector(IcebergParams(max_levels=100), RiskUnit())
    drifting = books(0, 1_000, lambda s: BookShape(mid=100 + 0.01 * int(s)), every_ms=1000)
    for book in drifting:
        detector.on_event(book)
        assert len(detector.levels) <= 100 + 40  # the cap, plus one snapshot's new levels
        assert all(len(lv.sizes) <= 100 for lv in detector.levels.values())
    unbounded = IcebergDetector(IcebergParams(), RiskUnit())
    for book in books(0, 1_000, lambda s: BookShape(mid=100 + 0.01 * int(s)), every_ms=1000):
        unbounded.on_event(book)
    horizon = at(999) - 300_000
    assert all(level.last_seen >= horizon for level in unbounded.levels.values())
    assert len(unbounded.levels) <= 2 * 320  # levels seen in the last 300 s


def test_a_long_present_level_that_turns_large_is_an_anchor() -> None:
    def shape(seconds: float) -> BookShape:
        return BookShape(extra={("bid", 99.95): 20.0}) if seconds >= 350 else BookShape()

    out = run(engine_for("iceberg_detector"), books(0, 400, shape))
    assert len(out) == 1
    assert out[0].signal.metadata["inputs"]["match"] == "anchor"
    assert out[0].signal.confidence == 0.75
    assert event_ms(out[0].signal) == at(350)
