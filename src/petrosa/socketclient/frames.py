"""Reading combined-stream frames and building what goes on NATS, on the hot path.

A frame is ``{"stream": "<name>", "data": <payload>}``; the stream name alone says which
symbol and stream type it is. The published message is
``{"stream", "event_time", "received_at", "data"}`` with ``data`` byte for byte as the
exchange sent it: the bytes are cut out of the frame and concatenated, never re-serialised
(which would also cost most of the time per message at the throughput this service aims
for). Only a frame laid out differently from Binance's (keys in another order, spaces)
falls back to re-serialising the parsed payload, which keeps its values.

A frame in Binance's layout is not parsed whole either: :func:`split_frame` cuts the stream
name and the payload's bytes at the fixed ``{"stream":"`` and ``","data":`` and only the
payload is parsed (for its id and event time). Everything else — control replies, events,
another layout — goes through :func:`read_frame`.

Each message has a deterministic id, ``<stream name>:<the payload's own id>``: ``u`` (diff
depth, bookTicker), ``lastUpdateId`` (spot partial depth), ``a`` (aggTrade), ``t`` (trade),
``k.t`` and ``E`` (kline: one id per update of a candle), else the event time ``E``. The
same numbers order the frames of a stream (:func:`order_key`), which is how a stream fed by
two connections during a rotation stays in order.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from petrosa.exchange.binance.streams import StreamKind

_PREFIX = b'{"stream":"'
_DATA_KEY = b'","data":'

OrderKey = tuple[int, ...]


@dataclass(slots=True)
class Frame:
    """A market-data frame: its stream name, its payload parsed, and the payload's bytes.

    Not frozen: one is made per frame that is not in Binance's layout, and a frozen dataclass
    pays ``object.__setattr__`` per field (a tenth of the hot path's time at 50,000/s)."""

    name: str
    data: Any
    data_raw: bytes


@dataclass(frozen=True, slots=True)
class ControlReply:
    """``{"result": …, "id": …}`` or ``{"error": …, "id": …}``: never market data."""

    id: Any
    result: Any
    error: Any

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass(frozen=True, slots=True)
class OtherMessage:
    """Anything else the server sends, e.g. an event such as ``serverShutdown``."""

    body: Any

    @property
    def is_server_shutdown(self) -> bool:
        body = self.body
        if isinstance(body, dict):
            inner = body.get("data")
            return body.get("e") == "serverShutdown" or (
                isinstance(inner, dict) and inner.get("e") == "serverShutdown"
            )
        return False


Incoming = Frame | ControlReply | OtherMessage


def read_frame(raw: bytes) -> Incoming:
    """Classify one WebSocket message (raises ``orjson.JSONDecodeError`` on bad JSON)."""
    body = orjson.loads(raw)
    if isinstance(body, dict):
        name = body.get("stream")
        if isinstance(name, str) and "data" in body:
            data = body["data"]
            if is_server_shutdown(data):
                return OtherMessage(body)
            return Frame(name, data, _data_slice(raw, name) or orjson.dumps(data))
        if "id" in body and ("result" in body or "error" in body):
            return ControlReply(body["id"], body.get("result"), body.get("error"))
    return OtherMessage(body)


_NAME_START = len(_PREFIX)


def split_frame(raw: bytes) -> tuple[bytes, bytes] | None:
    """The stream name and the payload's bytes of a frame laid out exactly as
    ``{"stream":"<name>","data":<payload>}``; None when it does not start and end that way.

    ``","data":`` cannot occur inside a JSON string (its second quote would be escaped), so
    its first occurrence ends the name. The payload is not checked: a frame with more keys
    after ``data`` leaves bytes that are not one JSON value, which the caller's parse of the
    payload rejects (it then falls back to :func:`read_frame`); a frame with more keys before
    it, or a name with escapes, leaves a name that matches no subscribed stream."""
    head, found, rest = raw.partition(_DATA_KEY)
    if found and head.startswith(_PREFIX) and rest.endswith(b"}"):
        return head[_NAME_START:], rest[:-1]
    return None


def is_server_shutdown(data: Any) -> bool:
    """A combined frame's payload announcing ``serverShutdown``."""
    return isinstance(data, dict) and data.get("e") == "serverShutdown"


def _data_slice(raw: bytes, name: str) -> bytes | None:
    """The payload's bytes when the frame is exactly ``{"stream":"<name>","data":<payload>}``."""
    head = _PREFIX + name.encode() + _DATA_KEY
    if raw.startswith(head) and raw.endswith(b"}"):
        return raw[len(head) : -1]
    return None


KeyReader = Callable[[Any], OrderKey | None]


def order_key_reader(kind: StreamKind) -> KeyReader:
    """The function that reads a payload's own position in a stream of ``kind`` (chosen once
    per stream: on the hot path even comparing the kind costs more than reading the id)."""
    if kind is StreamKind.KLINE:
        return _kline_key
    if kind is StreamKind.PARTIAL_DEPTH:
        return _partial_depth_key
    field = _ID_FIELD.get(kind)
    return _event_time_key if field is None else functools.partial(_id_key, field)


def order_key(kind: StreamKind, data: Any) -> OrderKey | None:
    """The payload's own position in its stream; None when it carries no id or time."""
    return order_key_reader(kind)(data)


def _kline_key(data: Any) -> OrderKey | None:
    if type(data) is not dict:
        return None
    kline = data.get("k")
    opened = kline.get("t") if type(kline) is dict else None
    event_ms = data.get("E")
    # ``type(x) is int``: a bool is an int to isinstance, never an id.
    if type(opened) is int and type(event_ms) is int:
        return (opened, event_ms)
    return None


def _id_key(field: str, data: Any) -> OrderKey | None:
    if type(data) is not dict:
        return None
    value = data.get(field)
    if value is None:
        value = data.get("E")
    return (value,) if type(value) is int else None


def _partial_depth_key(data: Any) -> OrderKey | None:
    """Futures partial depth has ``u``, spot's only ``lastUpdateId``."""
    if type(data) is not dict:
        return None
    value = data.get("u")
    if value is None:
        value = data.get("lastUpdateId")
    if value is None:
        value = data.get("E")
    return (value,) if type(value) is int else None


def _event_time_key(data: Any) -> OrderKey | None:
    value = data.get("E") if type(data) is dict else None
    return (value,) if type(value) is int else None


_ID_FIELD: dict[StreamKind, str] = {
    StreamKind.DIFF_DEPTH: "u",
    StreamKind.BOOK_TICKER: "u",
    StreamKind.AGG_TRADE: "a",
    StreamKind.TRADE: "t",
}


def message_id(name: str, key: OrderKey | None, data_raw: bytes) -> str:
    """``<stream>:<id>`` (kline ``<stream>:<k.t>:<E>``); a payload without any id is named by
    a hash of its bytes, so a repeat still de-duplicates."""
    if key is None:
        return f"{name}:h{hashlib.blake2b(data_raw, digest_size=12).hexdigest()}"
    if len(key) == 1:
        return f"{name}:{key[0]}"
    return f"{name}:" + ":".join(map(str, key))


def event_time(data: Any) -> int | None:
    """The exchange's event time ``E`` (epoch ms) when the payload has one."""
    value = data.get("E") if type(data) is dict else None
    return value if type(value) is int else None


def envelope_head(name: str) -> bytes:
    """The start of every envelope of stream ``name``, made once per stream."""
    return _PREFIX + name.encode() + b'","event_time":'


def envelope(head: bytes, event_ms: int | None, received_ms: int, data_raw: bytes) -> bytes:
    """``{"stream","event_time","received_at","data"}`` around the untouched payload bytes,
    after the stream's :func:`envelope_head`."""
    if event_ms is None:
        return b'%snull,"received_at":%d,"data":%s}' % (head, received_ms, data_raw)
    return b'%s%d,"received_at":%d,"data":%s}' % (head, event_ms, received_ms, data_raw)
