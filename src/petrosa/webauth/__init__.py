"""The HTTP edge shared by the platform's services: bearer-token auth (``_tokens``) and the
request gate that turns away unauthenticated and oversized bodies before they are read
(``_gate``).

Every HTTP service (Data Manager, trade engine, exchange simulator) wraps its app in
:class:`RequestGate`; the services with tokens also guard each route with
:func:`requirement`.
"""

from petrosa.webauth._gate import DEFAULT_MAX_BODY_BYTES, BodyLimits, RequestGate
from petrosa.webauth._tokens import (
    CHALLENGE,
    BearerTokens,
    Scope,
    is_loopback,
    requirement,
    split_tokens,
)

__all__ = [
    "CHALLENGE",
    "DEFAULT_MAX_BODY_BYTES",
    "BearerTokens",
    "BodyLimits",
    "RequestGate",
    "Scope",
    "is_loopback",
    "requirement",
    "split_tokens",
]
