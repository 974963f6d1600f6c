"""Binance's SIGNED endpoint security (``TRADE`` and ``USER_DATA``), checked as Binance checks
it.

A signed request names its key in the ``X-MBX-APIKEY`` header and ends with ``signature``:
the hex HMAC-SHA256, keyed with the secret, of everything before it — the query string and
then the body, joined as sent, with no ``&`` between them. Its ``timestamp`` must lie within
``recvWindow`` (default 5,000 ms) before the server's time and less than 1,000 ms after it.
Checks, in order::

    key missing or malformed    -2014  HTTP 401
    key unknown                 -2015  HTTP 401
    signature not sent          -1102
    signature wrong             -1022
    parameters (as ``params``)  -1101 -1104 ...
    timestamp not sent          -1102
    timestamp out of window     -1021
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl

from starlette.requests import Request

from petrosa.exchange.simulator import errors, rejections
from petrosa.exchange.simulator.params import Params
from petrosa.exchange.simulator.settings import SimulatorSettings

API_KEY_HEADER = "X-MBX-APIKEY"
DEFAULT_RECV_WINDOW_MS = 5_000
AHEAD_TOLERANCE_MS = 1_000
"""A timestamp may run ahead of the server's clock by less than this."""
TIMING_PARAMS = ("timestamp", "recvWindow")
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,128}$")
"""Printable ASCII without spaces."""
_SIGNATURE_TAIL = re.compile(r"(?:^|&)signature=([^&]*)$")


def hmac_sha256(secret: str, payload: str) -> str:
    """Hex HMAC-SHA256 of ``payload`` keyed with ``secret``."""
    return hmac.new(secret.encode(), payload.encode("latin-1"), hashlib.sha256).hexdigest()


def _check_key(request: Request, settings: SimulatorSettings) -> None:
    key = request.headers.get(API_KEY_HEADER)
    if key is None or not _KEY_RE.fullmatch(key):
        raise rejections.bad_api_key_format()
    if not hmac.compare_digest(key.encode(), settings.api_key.encode()):
        raise rejections.rejected_api_key()


def _verified_items(query: str, body: str, secret: str) -> list[tuple[str, str]]:
    """The parameters of a correctly signed request, ``signature`` left out."""
    signed_part = body if body else query
    tail = _SIGNATURE_TAIL.search(signed_part)
    if tail is None or tail.group(1) == "":
        raise errors.mandatory("signature")
    unsigned = signed_part[: tail.start()]
    payload = query + unsigned if body else unsigned
    expected = hmac_sha256(secret, payload)
    if not hmac.compare_digest(expected, tail.group(1).lower()):
        raise rejections.invalid_signature()
    parts = (query, unsigned) if body else (unsigned,)
    return [item for part in parts for item in parse_qsl(part, keep_blank_values=True)]


def check_timing(params: Params, server_ms: int) -> None:
    """``timestamp`` within ``recvWindow`` before ``server_ms``, and not 1 s or more after."""
    timestamp = params.integer("timestamp", required=True)
    window = params.integer("recvWindow")
    assert timestamp is not None
    if timestamp >= server_ms + AHEAD_TOLERANCE_MS:
        raise rejections.timestamp_outside_window(ahead=True)
    if server_ms - timestamp > (DEFAULT_RECV_WINDOW_MS if window is None else window):
        raise rejections.timestamp_outside_window(ahead=False)


async def signed_params(
    request: Request, settings: SimulatorSettings, server_ms: int, accepted: Iterable[str]
) -> Params:
    """The parameters of a signed request to an endpoint reading ``accepted``, or Binance's
    refusal when the key, the signature or the timing is wrong."""
    _check_key(request, settings)
    query = request.scope["query_string"].decode("latin-1")
    body = (await request.body()).decode("latin-1")
    items = _verified_items(query, body, settings.api_secret.get_secret_value())
    params = Params(items, (*accepted, *TIMING_PARAMS))
    check_timing(params, server_ms)
    return params
