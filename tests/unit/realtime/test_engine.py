"""The engine's shared rules: staleness and crossed-book resets, repeats, warm-up status,
replay and restart determinism, configuration applied without a restart."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import pytest
from pydantic import ValidationError

from petrosa.contracts import Market
from petrosa.realtime import (
    Candle,
    Emission,
    Feed,
    MarketEvent,
    RealtimeConfig,
    StrategyState,
    SymbolEngine,
)
from petrosa.realtime.strategies import CATALOGUE, ImbalanceParams
from tests.unit.realtime.tape import (
    SYMBOL,
    BookShape,
    Flow,
    Funding,
    at,
    books,
    engine_for,
    event_ms,
    flat_candles,
    marks,
    merge,
    run,
    trades,
)

SKEW = BookShape(bid_scale=3.0)


def skew_from(start: float) -> Callable[[float], BookShape]:
    return lambda s: SKEW if s >= start else BookShape()


def test_a_depth_gap_resets_the_book_strategies_and_restarts_their_warm_up() -> None:
    engine = engine_for("orderbook_imbalance")
    run(engine, books(0, 200, lambda s: BookShape()))
    assert engine.status().strategies["orderbook_imbalance"] is StrategyState.READY
    engine.tick(at(206))  # 6 s of exchange time without a book
    status = engine.status()
    assert status.strategies["orderbook_imbalance"] is StrategyState.STALE
    assert status.feeds[Feed.DEPTH].problem == "stale"
    assert not status.ready
    assert engine.stats.resets["stale_depth"] == 1
    # The books come back skewed: no signal until the gate (120 s) has passed again.
    out = run(engine, books(206, 400, skew_from(206)))
    assert out == []  # condition already true when armed: it waits for the re-arm region
    assert engine.status().strategies["orderbook_imbalance"] is StrategyState.READY
    out = run(engine, books(400, 430, lambda s: BookShape() if s < 410 else SKEW))
    assert len(out) == 1


def test_a_gap_seen_by_the_next_message_of_the_same_feed_also_resets() -> None:
    engine = engine_for("orderbook_imbalance")
    run(engine, books(0, 200, lambda s: BookShape()))
    out = run(engine, books(210, 300, skew_from(250)))
    assert out == []  # 90 s after the gap: still inside the 120 s gate
    assert engine.stats.resets["stale_depth"] == 1
    assert engine.status().ready_at_ms["orderbook_imbalance"] == at(210) + 120_000


def test_a_crossed_book_resets_until_a_good_one_arrives() -> None:
    engine = engine_for("orderbook_imbalance")
    run(engine, books(0, 200, lambda s: BookShape()))
    good = next(iter(books(200, 200.1, lambda s: BookShape())))
    crossed = replace(good, bid_prices=(100.05, *good.bid_prices[1:]), update_id=None)
    assert crossed.crossed
    assert engine.feed(crossed) == []
    assert engine.feed(replace(crossed, time_ms=crossed.time_ms + 50)) == []
    assert engine.stats.resets["crossed_book"] == 1  # counted once per episode
    status = engine.status()
    assert status.feeds[Feed.DEPTH].problem == "crossed"
    assert status.strategies["orderbook_imbalance"] is StrategyState.STALE
    run(engine, books(201, 202, lambda s: BookShape()))
    assert engine.status().strategies["orderbook_imbalance"] is StrategyState.WARMING


def test_repeats_and_out_of_order_messages_are_dropped() -> None:
    engine = engine_for("trade_momentum")
    tape = list(trades(0, 10, lambda s: Flow()))
    run(engine, tape)
    run(engine, tape[10:20])  # a rotation's overlap: same ids again
    engine.feed(replace(tape[-1], trade_id=10**9, time_ms=tape[-1].time_ms - 1))
    assert engine.stats.dropped == {"duplicate": 10, "out_of_order": 1}
    assert engine.stats.strategies["trade_momentum"].evaluations == len(tape)
    book = next(iter(books(0, 1, lambda s: BookShape())))
    engine2 = engine_for("orderbook_imbalance")
    engine2.feed(book)
    engine2.feed(replace(book, time_ms=book.time_ms + 100))  # same update id
    assert engine2.stats.dropped["duplicate"] == 1


def test_events_of_another_symbol_or_market_are_a_routing_error() -> None:
    engine = engine_for("orderbook_imbalance")
    book = next(iter(books(0, 1, lambda s: BookShape())))
    with pytest.raises(ValueError, match="routed"):
        engine.feed(replace(book, symbol="ETHUSDT"))
    with pytest.raises(ValueError, match="routed"):
        engine.feed(replace(book, market=Market.SPOT))


def test_candles_feed_the_risk_unit_and_survive_a_reset() -> None:
    engine = SymbolEngine(Market.FUTURES, SYMBOL, candles=flat_candles(span=0.5))
    assert engine.risk.atr == pytest.approx(0.5)
    assert engine.risk.unit(100.0) == pytest.approx(1.0)
    engine.feed(Candle(Market.FUTURES, SYMBOL, at(1), at(0), 103.0, 99.0, 100.0))
    assert engine.risk.atr == pytest.approx((0.5 * 13 + 4.0) / 14)
    engine.reset("lease_lost")
    assert engine.risk.atr == pytest.approx((0.5 * 13 + 4.0) / 14)
    assert engine.stats.resets["lease_lost"] == 1
    assert set(engine.status().strategies.values()) == {StrategyState.WAITING}


def test_status_says_waiting_then_warming_then_ready() -> None:
    engine = engine_for("orderbook_imbalance")
    assert engine.status().strategies["orderbook_imbalance"] is StrategyState.WAITING
    run(engine, books(0, 60, lambda s: BookShape()))
    assert engine.status().strategies["orderbook_imbalance"] is StrategyState.WARMING
    run(engine, books(60, 121, lambda s: BookShape()))
    status = engine.status()
    assert status.strategies["orderbook_imbalance"] is StrategyState.READY
    assert status.ready


def market_tape(end: float = 2_400.0) -> list[MarketEvent]:
    """Every feed at once, with an episode for most strategies."""

    def book(s: float) -> BookShape:
        if 1_000 <= s < 1_030:
            return SKEW
        if 1_500 <= s < 1_530:
            return BookShape(spread=0.08, bid_scale=0.45, ask_scale=0.45)
        extra = {("bid", 99.955): 10.0} if 1_200 <= s < 1_300 else {}
        return BookShape(extra=extra)

    def flow(s: float) -> Flow:
        moved = min(max(s - 1_900, 0.0), 40.0)
        return Flow(price=100 * (1 + 0.0002 * moved), buy_share=0.9 if 1_900 <= s < 1_940 else 0.5)

    def funding(s: float) -> Funding:
        return Funding(rate=0.0012, mark=100.03) if s >= 2_000 else Funding()

    return merge(
        books(0, end, book, every_ms=250),
        trades(0, end, flow),
        marks(0, end, funding, funding_ms=at(2_200)),
    )


def signals_of(emissions: list[Emission]) -> list[str]:
    return [e.signal.model_dump_json() for e in emissions]


@pytest.fixture(scope="module")
def tape() -> list[MarketEvent]:
    return market_tape()


@pytest.fixture(scope="module")
def full_run(tape: list[MarketEvent]) -> list[Emission]:
    return run(SymbolEngine(Market.FUTURES, SYMBOL, candles=flat_candles()), tape)


def test_replaying_the_same_events_gives_identical_signals(
    tape: list[MarketEvent],
    full_run: list[Emission],
) -> None:
    again = run(SymbolEngine(Market.FUTURES, SYMBOL, candles=flat_candles()), tape)
    assert signals_of(again) == signals_of(full_run)
    assert [e.market_state for e in again] == [e.market_state for e in full_run]
    fired = {e.signal.strategy_id for e in full_run}
    assert {"orderbook_imbalance", "spread_liquidity", "funding_rate", "ticker_velocity"} <= fired


@pytest.mark.parametrize("restart_s", [300.0, 555.5, 900.0])
def test_a_restart_mid_replay_gives_identical_signals_after_warm_up(
    tape: list[MarketEvent],
    full_run: list[Emission],
    restart_s: float,
) -> None:
    restarted = SymbolEngine(Market.FUTURES, SYMBOL, candles=flat_candles())
    later = run(restarted, [e for e in tape if e.time_ms >= at(restart_s)])
    gates = {sid: slot.strategy.gate_ms for sid, slot in restarted._slots.items()}
    expected = [
        e for e in full_run if event_ms(e.signal) >= at(restart_s) + gates[e.signal.strategy_id]
    ]
    assert signals_of(later) == signals_of(expected)
    assert expected  # the comparison is not vacuous


def test_signals_carry_the_contract_fields(full_run: list[Emission]) -> None:
    for emission in full_run:
        signal = emission.signal
        meta = signal.metadata
        assert signal.timeframe == "tick"
        assert signal.market == "futures"
        assert signal.strategy_version == "1"
        assert signal.timestamp.timestamp() * 1000 == event_ms(signal)
        assert signal.quantity is None
        assert signal.position_size_pct is None
        price, stop, target = signal.price, signal.stop_loss, signal.take_profit
        assert stop is not None
        assert target is not None
        if signal.action.value == "buy":
            assert stop < price < target
        else:
            assert target < price < stop
        assert 0.6 <= signal.confidence <= 1
        assert math.isfinite(meta["reward_risk"])
        assert emission.market_state["strategy"] == signal.strategy_id
        assert "book" in emission.market_state
        assert "mark" in emission.market_state
        cooldown = CATALOGUE[signal.strategy_id].params_type().cooldown_s * 1000
        if cooldown:
            assert meta["signal_time"] == event_ms(signal) // cooldown * cooldown


def test_configuration_applies_without_a_restart() -> None:
    engine = SymbolEngine(Market.FUTURES, SYMBOL)
    assert engine.strategy_ids == list(CATALOGUE)
    run(engine, books(0, 130, lambda s: BookShape()))
    iceberg = engine._slots["iceberg_detector"].strategy
    config = RealtimeConfig.model_validate(
        {
            "strategies": {"trade_momentum": {"enabled": False}},
            "symbols": {SYMBOL: {"orderbook_imbalance": {"params": {"trigger": 0.4}}}},
        }
    )
    engine.configure(config.resolve(Market.FUTURES, SYMBOL))
    assert "trade_momentum" not in engine.strategy_ids
    assert engine._slots["iceberg_detector"].strategy is iceberg  # unchanged: state kept
    status = engine.status().strategies
    assert status["orderbook_imbalance"] is StrategyState.WAITING  # changed: starts over
    assert engine._slots["orderbook_imbalance"].version.startswith("1+")
    params = config.resolve(Market.FUTURES, "ETHUSDT")["orderbook_imbalance"]
    assert params == ImbalanceParams()


@pytest.mark.parametrize(
    "document",
    [
        {"strategies": {"btc_dominance": {}}},
        {"strategies": {"orderbook_imbalance": {"params": {"trigger": 0.1}}}},  # ≤ rearm
        {"symbols": {SYMBOL: {"funding_rate": {"params": {"threshold": -1}}}}},
        {"strategies": {"iceberg_detector": {"params": {"unknown": 1}}}},
    ],
)
def test_a_bad_configuration_is_refused_whole(document: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RealtimeConfig.model_validate(document)


def test_spot_runs_everything_but_funding() -> None:
    engine = SymbolEngine(Market.SPOT, SYMBOL)
    assert set(engine.strategy_ids) == set(CATALOGUE) - {"funding_rate"}


def test_stats_count_events_evaluations_and_time() -> None:
    ticks = iter(range(0, 10**9, 7))
    engine = SymbolEngine(
        Market.FUTURES,
        SYMBOL,
        {"orderbook_imbalance": ImbalanceParams()},
        timer=lambda: next(ticks),
    )
    run(engine, books(0, 2, lambda s: BookShape()))
    stats = engine.stats.strategies["orderbook_imbalance"]
    assert engine.stats.events["depth"] == 20
    assert stats.evaluations == 20
    assert stats.evaluation_ns == 20 * 7
