"""Control messages a client sends on a stream connection, and the server's replies.

``parse_command`` turns one text frame into a typed command or raises ``CommandError`` with
Binance's code (documented for the stream endpoints):

* 0 ``Unknown property`` (SET_PROPERTY / GET_PROPERTY of anything but ``combined``)
* 1 ``Invalid value type: expected Boolean``
* 2 ``Invalid request: …`` (missing or unknown method, bad id, bad params, unknown stream,
  too many streams: the last two are the simulator's wording, Binance documents none)
* 3 ``Invalid JSON: …``

Replies are ``{"result": …, "id": N}``; errors ``{"error": {"code", "msg"}, "id": N}`` with
``id`` null when the request had no usable one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import orjson

COMBINED = "combined"
"""The one property a stream connection has."""


class Method(StrEnum):
    SUBSCRIBE = "SUBSCRIBE"
    UNSUBSCRIBE = "UNSUBSCRIBE"
    LIST_SUBSCRIPTIONS = "LIST_SUBSCRIPTIONS"
    SET_PROPERTY = "SET_PROPERTY"
    GET_PROPERTY = "GET_PROPERTY"


class CommandError(Exception):
    """A request the server refuses, with Binance's error code."""

    UNKNOWN_PROPERTY = 0
    INVALID_VALUE_TYPE = 1
    INVALID_REQUEST = 2
    INVALID_JSON = 3

    def __init__(self, code: int, msg: str, request_id: int | None = None) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.request_id = request_id

    def reply(self) -> str:
        """The error frame sent back."""
        body = {"error": {"code": self.code, "msg": self.msg}, "id": self.request_id}
        return orjson.dumps(body).decode()


def invalid_request(detail: str, request_id: int | None) -> CommandError:
    """Code 2, the catch-all of malformed requests."""
    return CommandError(CommandError.INVALID_REQUEST, f"Invalid request: {detail}", request_id)


@dataclass(frozen=True)
class Command:
    """A parsed control message: ``streams`` for (UN)SUBSCRIBE, ``value`` for SET_PROPERTY."""

    method: Method
    request_id: int
    streams: tuple[str, ...] = ()
    value: bool | None = None

    def reply(self, result: object = None) -> str:
        """The success frame for this request."""
        return orjson.dumps({"result": result, "id": self.request_id}).decode()


def parse_command(text: str | bytes) -> Command:
    """One control message, validated; ``CommandError`` says what is wrong with it."""
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise CommandError(CommandError.INVALID_JSON, f"Invalid JSON: {error}") from None
    if not isinstance(body, dict):
        raise invalid_request("expected a JSON object", None)
    request_id = _request_id(body)
    if "method" not in body:
        raise invalid_request("missing field `method`", request_id)
    try:
        method = Method(body["method"])
    except (ValueError, TypeError):
        expected = ", ".join(Method)
        raise invalid_request(
            f"unknown variant `{body['method']}`, expected one of {expected}", request_id
        ) from None
    params = body.get("params", [])
    if not isinstance(params, list):
        raise invalid_request("params must be a list", request_id)
    if method in (Method.SUBSCRIBE, Method.UNSUBSCRIBE):
        if not all(isinstance(name, str) for name in params):
            raise invalid_request("stream names must be strings", request_id)
        return Command(method, request_id, streams=tuple(dict.fromkeys(params)))
    if method is Method.LIST_SUBSCRIPTIONS:
        return Command(method, request_id)
    return _property_command(method, params, request_id)


def _request_id(body: dict[str, object]) -> int:
    request_id = body.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, int) or request_id < 0:
        raise invalid_request("request ID must be an unsigned integer", None)
    return request_id


def _property_command(method: Method, params: list[object], request_id: int) -> Command:
    arity = 2 if method is Method.SET_PROPERTY else 1
    if len(params) > arity:
        raise invalid_request("too many parameters", request_id)
    if len(params) < arity or not isinstance(params[0], str):
        raise invalid_request("property name must be a string", request_id)
    if params[0] != COMBINED:
        raise CommandError(CommandError.UNKNOWN_PROPERTY, "Unknown property", request_id)
    if method is Method.GET_PROPERTY:
        return Command(method, request_id)
    value = params[1]
    if not isinstance(value, bool):
        raise CommandError(
            CommandError.INVALID_VALUE_TYPE, "Invalid value type: expected Boolean", request_id
        )
    return Command(method, request_id, value=value)
