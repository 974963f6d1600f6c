"""Query parameters read the way Binance reads them, failing with Binance's error codes.

Checks, in order: duplicates (-1101), parameters the endpoint does not read (-1104), then,
as each is read, missing mandatory ones (-1102), empty optional ones (-1105), illegal
characters (-1100) and out-of-range values (-1130).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.requests import Request

from petrosa.exchange.simulator import errors

_INTEGER_RE = re.compile(errors.INTEGER_RANGE)
_SYMBOL_RE = re.compile(errors.SYMBOL_RANGE)
_MAX_LONG = 2**63 - 1


class Params:
    """The query of one request, restricted to the parameters its endpoint reads."""

    def __init__(self, items: Iterable[tuple[str, str]], accepted: Iterable[str]) -> None:
        pairs = list(items)
        names = [name for name, _ in pairs]
        if len(set(names)) != len(names):
            raise errors.duplicate()
        known = set(accepted)
        read = sum(1 for name in names if name in known)
        if read != len(names):
            raise errors.unread(read, len(names))
        self._values = dict(pairs)

    def text(self, name: str, *, required: bool = False) -> str | None:
        """The raw value; None when absent (mandatory ones fail with -1102)."""
        value = self._values.get(name)
        if value is None or value == "":
            if required:
                raise errors.mandatory(name)
            if value == "":
                raise errors.empty(name)
            return None
        return value

    def symbol(self, *, required: bool = True) -> str | None:
        """A symbol such as ``BTCUSDT`` (existence is the caller's check: -1121)."""
        value = self.text("symbol", required=required)
        if value is not None and not _SYMBOL_RE.fullmatch(value):
            raise errors.illegal_chars("symbol", errors.SYMBOL_RANGE)
        return value

    def integer(self, name: str, *, required: bool = False) -> int | None:
        """A non-negative integer (LONG/INT parameters)."""
        value = self.text(name, required=required)
        if value is None:
            return None
        if not _INTEGER_RE.fullmatch(value) or int(value) > _MAX_LONG:
            raise errors.illegal_chars(name, errors.INTEGER_RANGE)
        return int(value)

    def limit(self, *, default: int, maximum: int) -> int:
        """``limit`` within [1, maximum] (default when absent); else -1130."""
        value = self.integer("limit")
        if value is None:
            return default
        if not 1 <= value <= maximum:
            raise errors.invalid_parameter("limit")
        return value


def query(request: Request, accepted: Iterable[str] = ()) -> Params:
    """The request's query, for an endpoint reading the ``accepted`` parameters."""
    return Params(request.query_params.multi_items(), accepted)
