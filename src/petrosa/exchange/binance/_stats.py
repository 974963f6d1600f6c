"""Counters a client keeps, so jobs and benchmarks can report candles per unit of weight."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass
class ClientStats:
    """What one ``BinanceClient`` did since it was created."""

    requests: int = 0
    """HTTP requests that reached (or may have reached) Binance, retries included; a
    connection that never opened is not counted."""
    weight: int = 0
    """Request weight of those requests, as Binance documents it."""
    retries: int = 0
    """Requests sent again after a transport error, a 5xx or a 429."""
    rate_limited: int = 0
    """429 answers."""
    banned: int = 0
    """418 answers."""
    budget_wait_s: float = 0.0
    """Seconds spent waiting on the weight budget (windows, probes, 429 pauses), summed over
    concurrent calls: ten calls waiting the same minute add ten minutes."""
    backoff_s: float = 0.0
    """Seconds slept between retries of transport errors and 5xx."""
    klines: int = 0
    trades: int = 0
    funding_rates: int = 0
    server_used_weight: int | None = None
    """The last ``X-MBX-USED-WEIGHT-1M`` Binance reported (every process behind the IP)."""

    @property
    def klines_per_weight(self) -> float | None:
        """Candles received per unit of weight spent (None before any weight was spent)."""
        if self.weight == 0:
            return None
        return self.klines / self.weight

    def snapshot(self) -> ClientStats:
        """A copy that later requests do not change."""
        return replace(self)
