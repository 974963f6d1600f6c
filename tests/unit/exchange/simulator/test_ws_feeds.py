"""What a connection's subscriptions send: routing, framing, faults and the firehose."""

from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from petrosa.cli import exchange_sim
from petrosa.contracts.market import Market
from petrosa.exchange.binance.streams import Route, StreamKind, parse_stream
from petrosa.exchange.simulator.settings import SimulatorSettings
from petrosa.exchange.simulator.ws.commands import CommandError
from petrosa.exchange.simulator.ws.endpoints import Endpoint
from petrosa.exchange.simulator.ws.faults import FaultBoard
from petrosa.exchange.simulator.ws.firehose import FirehoseFeed
from petrosa.exchange.simulator.ws.subscriptions import Subscriptions
from tests.unit.exchange.simulator.ws_support import FakeMonotonic, FeedRecorder

NOW_MS = 1_748_781_296_700


def subscriptions(
    route: Route, *, combined: bool = True, max_streams: int = 1_024
) -> tuple[Subscriptions, FeedRecorder, FaultBoard, FakeMonotonic]:
    clock = FakeMonotonic()
    faults = FaultBoard(monotonic=clock)
    feeds = FeedRecorder()
    subs = Subscriptions(
        Endpoint(route, combined, ()), open_feed=feeds, faults=faults, max_streams=max_streams
    )
    return subs, feeds, faults, clock


def test_combined_frames_wrap_the_payload_bytes_under_the_stream_name() -> None:
    subs, _, _, _ = subscriptions(Route.SPOT)
    subs.add(["btcusdt@aggTrade", "ethusdt@depth@100ms"], NOW_MS)
    frames = [orjson.loads(text) for text in subs.poll(NOW_MS + 200, combined=True)]
    assert [(f["stream"], f["data"]["s"], f["data"]["n"]) for f in frames] == [
        ("btcusdt@aggTrade", "btcusdt@aggTrade", 1),
        ("btcusdt@aggTrade", "btcusdt@aggTrade", 2),
        ("ethusdt@depth@100ms", "ethusdt@depth@100ms", 1),
        ("ethusdt@depth@100ms", "ethusdt@depth@100ms", 2),
    ]
    raw = [orjson.loads(text) for text in subs.poll(NOW_MS + 300, combined=False)]
    assert raw == [{"n": 3, "s": "btcusdt@aggTrade"}, {"n": 3, "s": "ethusdt@depth@100ms"}]


def test_a_stream_of_the_other_futures_route_is_listed_but_never_opened() -> None:
    subs, feeds, _, _ = subscriptions(Route.PUBLIC)
    subs.add(["btcusdt@markPrice@1s", "btcusdt@bookTicker", "btcusdt@kline_1m"], NOW_MS)
    assert subs.names() == ["btcusdt@markPrice@1s", "btcusdt@bookTicker", "btcusdt@kline_1m"]
    assert [feed.stream.name for feed in feeds.opened] == ["btcusdt@bookTicker"]
    streams = {orjson.loads(text)["stream"] for text in subs.poll(NOW_MS + 500, combined=True)}
    assert streams == {"btcusdt@bookTicker"}


def test_unknown_or_foreign_streams_are_refused_and_nothing_is_subscribed() -> None:
    subs, feeds, _, _ = subscriptions(Route.MARKET)
    for names in (["btcusdt@aggTrade", "btcusdt@trade"], ["BTCUSDT@aggTrade"], ["btcusdt@x"]):
        with pytest.raises(CommandError) as caught:
            subs.add(names, NOW_MS, request_id=9)
        assert caught.value.code == CommandError.INVALID_REQUEST
        assert caught.value.msg.startswith("Invalid request: unknown stream")
        assert caught.value.request_id == 9
    assert subs.names() == []
    assert feeds.opened == []


def test_the_stream_limit_counts_new_names_only() -> None:
    subs, _, _, _ = subscriptions(Route.SPOT, max_streams=2)
    subs.add(["btcusdt@trade", "ethusdt@trade"], NOW_MS)
    subs.add(["btcusdt@trade"], NOW_MS)  # already there
    with pytest.raises(CommandError, match="too many streams"):
        subs.add(["bnbusdt@trade"], NOW_MS)
    subs.remove(["ethusdt@trade", "never@trade"])
    subs.add(["bnbusdt@trade"], NOW_MS)
    assert subs.names() == ["btcusdt@trade", "bnbusdt@trade"]


def numbers(subs: Subscriptions, now_ms: int) -> list[int]:
    return [orjson.loads(text)["n"] for text in subs.poll(now_ms, combined=False)]


def test_a_stall_drops_the_streams_events_until_it_ends() -> None:
    subs, _, faults, clock = subscriptions(Route.SPOT)
    subs.add(["btcusdt@depth"], NOW_MS)
    assert numbers(subs, NOW_MS + 100) == [1]
    faults.stall([(Market.SPOT, "btcusdt@depth")], 2.0)
    assert numbers(subs, NOW_MS + 300) == []
    clock.now += 2.0
    assert numbers(subs, NOW_MS + 400) == [4]


def test_a_burst_holds_the_frames_then_releases_them_in_order() -> None:
    subs, _, faults, clock = subscriptions(Route.SPOT)
    subs.add(["btcusdt@depth"], NOW_MS)
    faults.burst([(Market.SPOT, "btcusdt@depth")], 1.0)
    assert numbers(subs, NOW_MS + 200) == []
    assert numbers(subs, NOW_MS + 300) == []
    clock.now += 1.0
    assert numbers(subs, NOW_MS + 400) == [1, 2, 3, 4]


def test_a_skip_drops_exactly_the_next_update_on_current_subscribers() -> None:
    subs, _, faults, _ = subscriptions(Route.SPOT)
    subs.add(["btcusdt@depth"], NOW_MS)
    faults.skip([(Market.SPOT, "btcusdt@depth")])
    assert numbers(subs, NOW_MS + 50) == []  # nothing due yet: the skip waits
    assert numbers(subs, NOW_MS + 200) == [2]
    assert numbers(subs, NOW_MS + 300) == [3]
    later, _, _, _ = subscriptions(Route.SPOT)
    later._faults = faults  # a subscription made after the skip is not affected
    later.add(["btcusdt@depth"], NOW_MS)
    assert numbers(later, NOW_MS + 100) == [1]


def test_faults_are_per_market() -> None:
    subs, _, faults, _ = subscriptions(Route.PUBLIC)
    subs.add(["btcusdt@depth"], NOW_MS)
    faults.stall([(Market.SPOT, "btcusdt@depth")], 5.0)
    assert numbers(subs, NOW_MS + 100) == [1]


@pytest.mark.parametrize(
    ("name", "market", "fields"),
    [
        ("btcusdt@aggTrade", Market.SPOT, ["e", "E", "s", "a", "p", "q", "f", "l", "T", "m", "M"]),
        ("btcusdt@aggTrade", Market.FUTURES, ["e", "E", "s", "a", "p", "q", "f", "l", "T", "m"]),
        ("btcusdt@trade", Market.SPOT, ["e", "E", "s", "t", "p", "q", "T", "m", "M"]),
        ("btcusdt@bookTicker", Market.SPOT, ["u", "s", "b", "B", "a", "A"]),
        ("btcusdt@bookTicker", Market.FUTURES, ["e", "u", "E", "T", "s", "b", "B", "a", "A"]),
    ],
)
def test_the_firehose_emits_well_formed_payloads_at_its_rate(
    name: str, market: Market, fields: list[str]
) -> None:
    clock = FakeMonotonic()
    feed = FirehoseFeed(parse_stream(name, market), 1_000, monotonic=clock)
    assert feed.poll(NOW_MS) == []
    clock.now += 0.01
    payloads = [orjson.loads(payload) for payload in feed.poll(NOW_MS)]
    assert len(payloads) == 10
    assert all(list(payload) == fields for payload in payloads)
    assert all(payload["s"] == "BTCUSDT" for payload in payloads)
    id_field = {"aggTrade": "a", "trade": "t"}.get(payloads[0].get("e", ""), "u")
    ids = [payload[id_field] for payload in payloads]
    assert ids == list(range(1, 11))
    if "E" in fields:
        assert {payload["E"] for payload in payloads} == {NOW_MS}
    if "b" in fields:
        assert float(payloads[0]["b"]) < float(payloads[0]["a"])


def test_a_firehose_reader_that_falls_behind_gets_bounded_batches_with_contiguous_ids() -> None:
    clock = FakeMonotonic()
    feed = FirehoseFeed(parse_stream("btcusdt@aggTrade", Market.SPOT), 1_000, monotonic=clock)
    clock.now += 10.0
    first = [orjson.loads(payload)["a"] for payload in feed.poll(NOW_MS)]
    assert first == list(range(1, 51))  # 50 ms worth, not 10 s
    clock.now += 0.005
    assert [orjson.loads(payload)["a"] for payload in feed.poll(NOW_MS)] == [51, 52, 53, 54, 55]


def test_the_firehose_serves_event_streams_only() -> None:
    with pytest.raises(ValueError, match="no firehose"):
        FirehoseFeed(parse_stream("btcusdt@depth", Market.SPOT), 10)


def test_firehose_stream_types_are_read_from_a_comma_list_and_checked() -> None:
    settings = SimulatorSettings(ws_firehose_rate=10, ws_firehose_streams="trade, aggTrade")
    assert settings.ws_firehose_streams == (StreamKind.TRADE, StreamKind.AGG_TRADE)
    with pytest.raises(ValidationError, match="no firehose for 'depth'"):
        SimulatorSettings(ws_firehose_streams="aggTrade,depth")


def test_the_command_refuses_a_firehose_of_a_periodic_stream_in_one_line() -> None:
    result = CliRunner().invoke(
        exchange_sim.app, ["--ws-firehose-rate", "10", "--ws-firehose-streams", "kline"]
    )
    assert result.exit_code == 2
    assert "ws_firehose_streams" in result.output
