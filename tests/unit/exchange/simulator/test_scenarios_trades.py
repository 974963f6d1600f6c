"""The buy burst on the model: taker buys, bigger, a rising price (trade_momentum and
ticker_velocity, STRATEGIES.md 4.5-4.6, with margin), ids untouched, klines summed from the
edited trades, and the streams equal to REST."""

from __future__ import annotations

import statistics
from decimal import Decimal
from typing import Any

from petrosa.exchange.simulator import tape
from petrosa.exchange.simulator.instruments import MarketKind
from petrosa.exchange.simulator.market import MINUTE_MS, Level
from petrosa.exchange.simulator.prices import last_price
from petrosa.exchange.simulator.trades import AggTrades
from petrosa.exchange.simulator.venue import Venue
from tests.unit.exchange.simulator.feeds_support import (
    decode,
    feed_of,
    kline_as_row,
    make_venue,
    rest_agg_trades,
    rest_kline,
)
from tests.unit.exchange.simulator.scenario_support import board_venue, start

WINDOW_MS = 30_000


def _trades(
    venue: Venue, first_ms: int, stop_ms: int, kind: MarketKind = MarketKind.SPOT
) -> AggTrades:
    market = venue.market(kind, "BTCUSDT")
    return tape.between(market, first_ms, stop_ms - 1, now=stop_ms, limit=100_000)


def _momentum(trades: AggTrades) -> dict[str, float]:
    notional = trades.price.astype(float) * trades.qty
    buy = ~trades.buyer_maker
    flow = (notional[buy].sum() - notional[~buy].sum()) / notional.sum()
    top = notional >= sorted(notional)[int(0.9 * len(notional))]
    top_flow = (notional[top & buy].sum() - notional[top & ~buy].sum()) / notional[top].sum()
    move = (int(trades.price[-1]) - int(trades.price[0])) / int(trades.price[0])
    push = max(-1.0, min(1.0, move / 0.002))
    return {
        "count": len(trades),
        "notional": float(notional.sum()),
        "F": float(flow),
        "Q": float(top_flow),
        "P": push,
        "S": 0.4 * push + 0.3 * float(top_flow) + 0.3 * float(flow),
    }


def test_a_burst_window_fires_trade_momentum_with_margin_and_a_quiet_one_does_not() -> None:
    venue, _, board = board_venue()
    scenario = start(board, "buy_burst")
    begin = scenario.window.start_ms
    burst = _momentum(_trades(venue, begin, begin + WINDOW_MS))
    assert burst["count"] >= 50
    assert burst["F"] > 0.8
    assert burst["Q"] > 0.9
    assert burst["P"] == 1.0
    assert burst["S"] >= 0.9  # trigger 0.7
    quiet = [
        _momentum(_trades(venue, begin - k * WINDOW_MS, begin - (k - 1) * WINDOW_MS))
        for k in range(60, 0, -1)
    ]
    assert burst["notional"] >= 2.5 * statistics.median(q["notional"] for q in quiet)  # 1.5x
    assert max(abs(q["S"]) for q in quiet) < 0.7


def test_the_price_climbs_fast_enough_for_ticker_velocity_and_fades_slowly() -> None:
    venue, _, board = board_venue()
    scenario = start(board, "buy_burst")
    market = venue.market(MarketKind.SPOT, "BTCUSDT")
    begin = scenario.window.start_ms

    def price(at: int) -> Decimal:
        return last_price(market, at)

    top = begin + 25_000
    assert price(top) / price(top - 60_000) - 1 >= Decimal("0.006")  # trigger 0.5 % in 60 s
    assert price(top) / price(top - 15_000) - 1 >= Decimal("0.002")  # confirmation 0.1 %
    fade = range(begin + 30_000 + 60_000, scenario.window.end_ms, 10_000)  # 60 s after buying
    assert all(abs(price(t) / price(t - 60_000) - 1) < Decimal("0.0035") for t in fade)
    book = venue.book(MarketKind.SPOT, "BTCUSDT")
    quote = book.best(book.step_at(top))
    assert Decimal(quote.bid_price) <= price(top) <= Decimal(quote.ask_price)


def test_ids_and_times_stay_the_quiet_markets_and_the_same_start_gives_the_same_trades() -> None:
    venue, _, board = board_venue()
    scenario = start(board, "buy_burst")
    begin, end = scenario.window.start_ms, scenario.window.end_ms
    quiet_venue, _ = make_venue()
    edited, quiet = (
        _trades(venue, begin - 5_000, end + 5_000),
        _trades(quiet_venue, begin - 5_000, end + 5_000),
    )
    assert edited.id.tolist() == quiet.id.tolist()
    assert edited.time.tolist() == quiet.time.tolist()
    assert edited.last_trade_id.tolist() == quiet.last_trade_id.tolist()
    assert (edited.buyer_maker != quiet.buyer_maker).any()
    outside = (edited.time < begin) | (edited.time >= end)
    assert edited.price[outside].tolist() == quiet.price[outside].tolist()
    again_venue, _, again_board = board_venue()
    start(again_board, "buy_burst")
    again = _trades(again_venue, begin - 5_000, end + 5_000)
    assert again.price.tolist() == edited.price.tolist()
    assert again.qty.tolist() == edited.qty.tolist()


def test_klines_are_the_edited_trades_summed_at_every_interval() -> None:
    venue, clock, board = board_venue()
    scenario = start(board, "buy_burst")
    clock.set(scenario.window.end_ms + 2 * MINUTE_MS)
    first_minute = scenario.window.start_ms // MINUTE_MS * MINUTE_MS
    for minute in range(first_minute, scenario.window.end_ms, MINUTE_MS):
        row = rest_kline(venue, "spot", "BTCUSDT", "1m", minute)
        trades = _trades(venue, minute, minute + MINUTE_MS)
        assert Decimal(row[2]) == max(Decimal(p) for p in _prices(trades))
        assert Decimal(row[4]) == _prices(trades)[-1]
        buy_lots = int(trades.qty[~trades.buyer_maker].sum())
        assert Decimal(row[9]) == Decimal(buy_lots).scaleb(-5)
        assert row[8] == int((trades.last_trade_id - trades.first_trade_id + 1).sum())
    market = venue.market(MarketKind.SPOT, "BTCUSDT")
    hour = scenario.window.start_ms // 3_600_000
    minutes = market.nodes(Level.MINUTE, hour * 60, hour * 60 + 60)
    hour_bar = market.nodes(Level.HOUR, hour, hour + 1)
    assert int(hour_bar.volume[0]) == int(minutes.volume.sum())
    assert int(hour_bar.high[0]) == int(minutes.high.max())
    day = market.nodes(Level.DAY, hour // 24, hour // 24 + 1)
    hours = market.nodes(Level.HOUR, hour // 24 * 24, hour // 24 * 24 + 24)
    assert int(day.volume_buy[0]) == int(hours.volume_buy.sum())


def _prices(trades: AggTrades) -> list[Decimal]:
    return [Decimal(int(p)).scaleb(-2) for p in trades.price]


def test_streams_equal_rest_through_the_burst() -> None:
    venue, clock, board = board_venue()
    trades_feed = feed_of(venue, "btcusdt@aggTrade", "spot", clock.now_ms())
    kline_feed = feed_of(venue, "btcusdt@kline_1m", "spot", clock.now_ms())
    scenario = start(board, "buy_burst", params={"fade_s": 30})
    begin = scenario.window.start_ms
    streamed: list[dict[str, Any]] = []
    klines: list[dict[str, Any]] = []
    while clock.now_ms() < scenario.window.end_ms + MINUTE_MS:
        clock.advance(250)
        streamed += decode(trades_feed.poll(clock.now_ms()))
        klines += decode(kline_feed.poll(clock.now_ms()))
    rest: list[dict[str, Any]] = []
    while len(rest) < len(streamed):
        rest += rest_agg_trades(venue, "spot", "BTCUSDT", streamed[len(rest)]["a"])
    fields = ("a", "p", "q", "f", "l", "T", "m")
    assert [[e[k] for k in fields] for e in streamed] == [
        [r[k] for k in fields] for r in rest[: len(streamed)]
    ]
    buying = [e for e in streamed if begin <= e["T"] < begin + 30_000]
    assert sum(not e["m"] for e in buying) > 0.8 * len(buying)
    closed = [k["k"] for k in klines if k["k"]["x"]]
    assert len(closed) >= 2
    for body in closed:
        assert kline_as_row(body) == rest_kline(venue, "spot", "BTCUSDT", "1m", body["t"])


def test_ending_a_burst_keeps_its_past_and_restores_the_quiet_market_after() -> None:
    venue, clock, board = board_venue()
    scenario = start(board, "buy_burst")
    clock.set(scenario.window.start_ms + 10_000)
    before = _trades(venue, scenario.window.start_ms, clock.now_ms() + 1)
    ended = board.end(scenario.id)
    assert ended is not None
    assert ended.window.end_ms == clock.now_ms() // 100 * 100 + 100
    assert (
        _trades(venue, scenario.window.start_ms, clock.now_ms() + 1).qty.tolist()
        == before.qty.tolist()
    )
    quiet_venue, _ = make_venue()
    later = (ended.window.end_ms, ended.window.end_ms + 60_000)
    assert _trades(venue, *later).price.tolist() == _trades(quiet_venue, *later).price.tolist()
    clock.advance(100)
    assert board.scenarios() == []
    assert [s.id for s in board.scenarios(finished=True)] == [scenario.id]
