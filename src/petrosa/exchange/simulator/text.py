"""Exact decimal strings from integer ticks, lots and rates (what Binance puts in JSON)."""

from __future__ import annotations

from petrosa.exchange.simulator.bars import Ints


def decimal_text(value: int, decimals: int) -> str:
    """``value`` x 10**-decimals as a plain decimal string, e.g. (123456, 2) -> "1234.56"."""
    if decimals == 0:
        return str(value)
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(value), 10**decimals)
    return f"{sign}{whole}.{fraction:0{decimals}d}"


def padded_text(value: int, decimals: int, width: int) -> str:
    """Like ``decimal_text`` with at least ``width`` decimals (spot shows 8 everywhere)."""
    if decimals >= width:
        return decimal_text(value, decimals)
    return decimal_text(value * 10 ** (width - decimals), width)


def column_text(values: Ints, decimals: int, width: int = 0) -> list[str]:
    """Every value of a column as text with at least ``width`` decimals."""
    return [padded_text(v, decimals, width) for v in values.tolist()]
