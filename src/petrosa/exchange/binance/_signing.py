"""Binance's request signing: HMAC-SHA256 over the exact query string sent.

A SIGNED request (``TRADE``, ``USER_DATA``) carries ``timestamp`` (epoch ms by the server's
clock), optionally ``recvWindow``, and last ``signature``: the hex HMAC-SHA256 of the
percent-encoded parameters before it, keyed with the API secret. The key travels in the
``X-MBX-APIKEY`` header. The string signed is the string sent, byte for byte, so the client
encodes the query itself rather than letting the HTTP library re-encode it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from decimal import Decimal
from urllib.parse import urlencode

API_KEY_HEADER = "X-MBX-APIKEY"
Param = str | int | Decimal | bool | None


def hmac_signature(secret: str, payload: str) -> str:
    """Hex HMAC-SHA256 of ``payload`` keyed with ``secret``."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def param_text(value: str | int | Decimal | bool) -> str:
    """A parameter as Binance reads it: booleans ``true``/``false``, decimals in plain
    notation (never an exponent)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def encode_query(params: Iterable[tuple[str, Param]]) -> str:
    """The query string of ``params`` in order, leaving out None values."""
    return urlencode([(name, param_text(value)) for name, value in params if value is not None])


def signed_query(
    params: Iterable[tuple[str, Param]],
    *,
    secret: str,
    timestamp_ms: int,
    recv_window_ms: int | None,
) -> str:
    """``params`` plus ``recvWindow`` and ``timestamp``, then ``signature`` over all of it."""
    timing: list[tuple[str, Param]] = [("recvWindow", recv_window_ms), ("timestamp", timestamp_ms)]
    query = encode_query([*params, *timing])
    return f"{query}&signature={hmac_signature(secret, query)}"
