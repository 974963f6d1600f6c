"""Frames in, NATS messages out: the stream name decides, the payload bytes stay untouched."""

from __future__ import annotations

import orjson
import pytest

from petrosa.exchange.binance.streams import StreamKind
from petrosa.socketclient.frames import (
    ControlReply,
    Frame,
    OtherMessage,
    envelope,
    envelope_head,
    event_time,
    message_id,
    order_key,
    read_frame,
    split_frame,
)

# Spaces and key order inside data must survive: they prove the bytes were not re-serialised.
DATA = b'{"e":"aggTrade", "E":1700000000123,"s":"ETHUSDT","a":42,"p":"2000.10","q":"1.0"}'
FRAME = b'{"stream":"ethusdt@aggTrade","data":' + DATA + b"}"


def test_a_frame_keeps_its_payload_bytes() -> None:
    frame = read_frame(FRAME)
    assert isinstance(frame, Frame)
    assert frame.name == "ethusdt@aggTrade"
    assert frame.data_raw == DATA
    assert frame.data["a"] == 42


def test_a_frame_laid_out_otherwise_falls_back_to_its_parsed_payload() -> None:
    raw = b'{"data":{"u":7,"lastUpdateId":7},"stream":"btcusdt@depth5"}'
    frame = read_frame(raw)
    assert isinstance(frame, Frame)
    assert orjson.loads(frame.data_raw) == {"u": 7, "lastUpdateId": 7}


def test_a_partial_depth_without_symbol_is_still_named_by_its_stream() -> None:
    raw = b'{"stream":"ethusdt@depth20","data":{"lastUpdateId":9,"bids":[],"asks":[]}}'
    frame = read_frame(raw)
    assert isinstance(frame, Frame)
    assert frame.name.startswith("ethusdt@")


def test_control_replies_and_events_are_not_frames() -> None:
    reply = read_frame(b'{"result":null,"id":3}')
    assert isinstance(reply, ControlReply)
    assert not reply.failed
    error = read_frame(b'{"error":{"code":2,"msg":"Invalid request"},"id":4}')
    assert isinstance(error, ControlReply)
    assert error.failed
    shutdown = read_frame(b'{"e":"serverShutdown","E":1}')
    assert isinstance(shutdown, OtherMessage)
    assert shutdown.is_server_shutdown
    wrapped = read_frame(b'{"stream":"x","data":{"e":"serverShutdown","E":1}}')
    assert isinstance(wrapped, OtherMessage)
    assert wrapped.is_server_shutdown


def test_a_frame_in_binances_layout_is_split_without_parsing() -> None:
    assert split_frame(FRAME) == (b"ethusdt@aggTrade", DATA)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"data":{"u":7},"stream":"btcusdt@depth5"}',  # another key order
        b'{ "stream":"btcusdt@depth5","data":{"u":7}}',  # spaces
        b'{"stream":"btcusdt@depth5"}',  # no data
        b'{"result":null,"id":3}',
    ],
)
def test_a_frame_laid_out_otherwise_is_not_split(raw: bytes) -> None:
    assert split_frame(raw) is None


def test_a_split_frame_with_more_keys_leaves_a_payload_that_does_not_parse() -> None:
    """What lets the caller fall back to ``read_frame`` instead of publishing a cut payload."""
    split = split_frame(b'{"stream":"x@trade","data":{"t":1},"extra":{"a":2}}')
    assert split is not None
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(split[1])


@pytest.mark.parametrize(
    ("kind", "data", "key"),
    [
        (StreamKind.DIFF_DEPTH, {"E": 5, "U": 1, "u": 9}, (9,)),
        (StreamKind.PARTIAL_DEPTH, {"lastUpdateId": 8, "bids": []}, (8,)),
        (StreamKind.PARTIAL_DEPTH, {"E": 5, "u": 11, "pu": 10}, (11,)),
        (StreamKind.AGG_TRADE, {"E": 5, "a": 77}, (77,)),
        (StreamKind.TRADE, {"E": 5, "t": 66}, (66,)),
        (StreamKind.BOOK_TICKER, {"u": 55, "b": "1"}, (55,)),
        (StreamKind.KLINE, {"E": 5, "k": {"t": 60_000, "x": False}}, (60_000, 5)),
        (StreamKind.MARK_PRICE, {"E": 1234, "p": "1"}, (1234,)),
        (StreamKind.BOOK_TICKER, {"b": "1"}, None),
    ],
)
def test_order_keys_come_from_the_payloads_own_ids(
    kind: StreamKind, data: dict[str, object], key: tuple[int, ...] | None
) -> None:
    assert order_key(kind, data) == key


def test_message_ids_are_deterministic() -> None:
    assert message_id("btcusdt@aggTrade", (77,), b"") == "btcusdt@aggTrade:77"
    assert message_id("btcusdt@kline_1m", (60_000, 5), b"") == "btcusdt@kline_1m:60000:5"
    hashed = message_id("btcusdt@bookTicker", None, b'{"b":"1"}')
    assert hashed == message_id("btcusdt@bookTicker", None, b'{"b":"1"}')
    assert hashed != message_id("btcusdt@bookTicker", None, b'{"b":"2"}')


def test_the_envelope_wraps_the_untouched_payload() -> None:
    head = envelope_head("ethusdt@aggTrade")
    payload = envelope(head, event_time(orjson.loads(DATA)), 1700000000200, DATA)
    assert orjson.loads(payload) == {
        "stream": "ethusdt@aggTrade",
        "event_time": 1700000000123,
        "received_at": 1700000000200,
        "data": orjson.loads(DATA),
    }
    assert payload.endswith(b',"data":' + DATA + b"}")
    no_time = envelope(envelope_head("btcusdt@bookTicker"), None, 1, b"{}")
    assert orjson.loads(no_time)["event_time"] is None
