"""The stream server's pure parts: paths, control messages and the incoming-message limit."""

from __future__ import annotations

import orjson
import pytest

from petrosa.contracts.market import Market
from petrosa.exchange.binance.streams import Route
from petrosa.exchange.simulator.ws.commands import (
    Command,
    CommandError,
    Method,
    parse_command,
)
from petrosa.exchange.simulator.ws.endpoints import Endpoint, parse_endpoint
from petrosa.exchange.simulator.ws.limits import MessageRate


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        ("/ws", b"", Endpoint(Route.SPOT, combined=False, streams=())),
        ("/ws/", b"", Endpoint(Route.SPOT, combined=False, streams=())),
        ("/ws/btcusdt@aggTrade", b"", Endpoint(Route.SPOT, False, ("btcusdt@aggTrade",))),
        ("/ws/a@trade/b@trade/a@trade", b"", Endpoint(Route.SPOT, False, ("a@trade", "b@trade"))),
        ("/stream", b"streams=a@trade/b@depth", Endpoint(Route.SPOT, True, ("a@trade", "b@depth"))),
        ("/stream", b"", Endpoint(Route.SPOT, combined=True, streams=())),
        ("/public/ws/btcusdt@depth", b"", Endpoint(Route.PUBLIC, False, ("btcusdt@depth",))),
        (
            "/public/stream",
            b"streams=x@bookTicker",
            Endpoint(Route.PUBLIC, True, ("x@bookTicker",)),
        ),
        ("/market/ws", b"", Endpoint(Route.MARKET, combined=False, streams=())),
        (
            "/market/stream",
            b"streams=x@markPrice%401s",
            Endpoint(Route.MARKET, True, ("x@markPrice@1s",)),
        ),
    ],
)
def test_stream_paths_tell_the_route_framing_and_streams(
    path: str, query: bytes, expected: Endpoint
) -> None:
    assert parse_endpoint(path, query) == expected


def test_the_route_decides_the_market_and_other_paths_are_not_streams() -> None:
    assert parse_endpoint("/ws").market is Market.SPOT  # type: ignore[union-attr]
    assert parse_endpoint("/public/ws").market is Market.FUTURES  # type: ignore[union-attr]
    assert parse_endpoint("/market/stream").market is Market.FUTURES  # type: ignore[union-attr]
    for path in ("/", "/wsx", "/streams", "/private/ws", "/api/v3/ping", "/public", "/fapi/ws"):
        assert parse_endpoint(path) is None, path


def test_subscribe_unsubscribe_and_list_parse_with_their_ids() -> None:
    subscribe = parse_command('{"method":"SUBSCRIBE","params":["a@trade","a@trade","b@x"],"id":1}')
    assert subscribe == Command(Method.SUBSCRIBE, 1, streams=("a@trade", "b@x"))
    unsubscribe = parse_command(b'{"method":"UNSUBSCRIBE","params":["a@trade"],"id":312}')
    assert unsubscribe == Command(Method.UNSUBSCRIBE, 312, streams=("a@trade",))
    assert parse_command('{"method":"LIST_SUBSCRIPTIONS","id":3}') == Command(
        Method.LIST_SUBSCRIPTIONS, 3
    )


def test_properties_parse_and_replies_have_binances_shape() -> None:
    set_combined = parse_command('{"method":"SET_PROPERTY","params":["combined",true],"id":5}')
    assert set_combined == Command(Method.SET_PROPERTY, 5, value=True)
    get_combined = parse_command('{"method":"GET_PROPERTY","params":["combined"],"id":2}')
    assert get_combined == Command(Method.GET_PROPERTY, 2)
    assert orjson.loads(set_combined.reply()) == {"result": None, "id": 5}
    assert orjson.loads(get_combined.reply(True)) == {"result": True, "id": 2}


@pytest.mark.parametrize(
    ("text", "code", "message", "request_id"),
    [
        ("{nope", 3, "Invalid JSON: ", None),
        ("[1]", 2, "Invalid request: expected a JSON object", None),
        ('{"method":"SUBSCRIBE","params":[]}', 2, "Invalid request: request ID must be", None),
        ('{"method":"SUBSCRIBE","params":[],"id":-1}', 2, "Invalid request: request ID", None),
        ('{"method":"SUBSCRIBE","params":[],"id":true}', 2, "Invalid request: request ID", None),
        ('{"method":"SUBSCRIBE","params":[],"id":"7"}', 2, "Invalid request: request ID", None),
        ('{"params":[],"id":4}', 2, "Invalid request: missing field `method`", 4),
        ('{"method":"subscribe","id":4}', 2, "Invalid request: unknown variant `subscribe`", 4),
        ('{"method":"SUBSCRIBE","params":"a@trade","id":4}', 2, "Invalid request: params", 4),
        ('{"method":"SUBSCRIBE","params":[1],"id":4}', 2, "Invalid request: stream names", 4),
        ('{"method":"SET_PROPERTY","params":["combined"],"id":6}', 2, "Invalid request: prop", 6),
        ('{"method":"SET_PROPERTY","params":[1,true],"id":6}', 2, "Invalid request: prop", 6),
        ('{"method":"SET_PROPERTY","params":["c",true,1],"id":6}', 2, "Invalid request: too", 6),
        ('{"method":"SET_PROPERTY","params":["speed",true],"id":6}', 0, "Unknown property", 6),
        ('{"method":"SET_PROPERTY","params":["combined",1],"id":6}', 1, "Invalid value type", 6),
        ('{"method":"GET_PROPERTY","params":["other"],"id":6}', 0, "Unknown property", 6),
    ],
)
def test_bad_requests_get_binances_error_codes(
    text: str, code: int, message: str, request_id: int | None
) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text)
    reply = orjson.loads(caught.value.reply())
    assert reply["error"]["code"] == code
    assert reply["error"]["msg"].startswith(message)
    assert reply["id"] == request_id
    assert set(reply) == {"error", "id"}


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_message_limit_admits_n_per_sliding_second_and_refuses_the_next() -> None:
    clock = FakeMonotonic()
    rate = MessageRate(5, monotonic=clock)
    for _ in range(5):
        assert rate.admit()
        clock.now += 0.1
    assert not rate.admit()  # the sixth within one second


def test_the_message_limit_forgets_messages_older_than_a_second() -> None:
    clock = FakeMonotonic()
    rate = MessageRate(2, monotonic=clock)
    assert rate.admit()
    assert rate.admit()
    clock.now += 1.0
    assert rate.admit()
    clock.now += 0.5
    assert rate.admit()
    clock.now += 0.4
    assert not rate.admit()  # three within the last second
