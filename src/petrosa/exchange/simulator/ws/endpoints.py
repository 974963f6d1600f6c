"""Which WebSocket paths serve streams, and what a path says about its connection.

Spot serves ``/ws[/<s1>/<s2>…]`` (raw: frames are bare payloads) and ``/stream?streams=a/b``
(combined: ``{"stream","data"}``). USD-M futures serve the same two forms under a routed
prefix, ``/public`` or ``/market``; the prefix, not the stream names, decides the market and
which streams can deliver on the connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from petrosa.contracts.market import Market
from petrosa.exchange.binance.streams import Route

_PREFIXES: dict[str, Route] = {"": Route.SPOT, "/public": Route.PUBLIC, "/market": Route.MARKET}


@dataclass(frozen=True)
class Endpoint:
    """A stream connection's path, parsed: its route, framing and the streams it names."""

    route: Route
    combined: bool
    streams: tuple[str, ...]
    """Stream names from the URL, in order, not yet validated."""

    @property
    def market(self) -> Market:
        """Spot for ``/ws`` and ``/stream``; futures for the routed paths."""
        return Market.SPOT if self.route is Route.SPOT else Market.FUTURES


def parse_endpoint(path: str, query_string: bytes = b"") -> Endpoint | None:
    """The endpoint a WebSocket path asks for; None when the path serves no streams."""
    for prefix, route in _PREFIXES.items():
        if not path.startswith(prefix):
            continue
        rest = path[len(prefix) :]
        if rest == "/ws" or rest.startswith("/ws/"):
            return Endpoint(route, combined=False, streams=_split(rest[len("/ws/") :]))
        if rest in ("/stream", "/stream/"):
            query = parse_qs(query_string.decode("latin-1"))
            names = "/".join(query.get("streams", []))
            return Endpoint(route, combined=True, streams=_split(names))
    return None


def _split(names: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for name in names.split("/") if name))
