"""Pure candle helpers: which klines are final."""

from __future__ import annotations

from collections.abc import Iterable

from petrosa.contracts import Kline


def closed_klines_only(klines: Iterable[Kline], server_time: int) -> list[Kline]:
    """The klines that are closed at ``server_time`` (epoch ms): ``close_time < server_time``.

    Binance's last kline of a recent range is usually still open and changes until it closes;
    only closed klines are final and safe to store.
    """
    return [kline for kline in klines if kline.close_time < server_time]
