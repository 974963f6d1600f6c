"""In-memory stand-ins for the exchange and the Data Manager (pure-logic tests only)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from petrosa.contracts import (
    Coverage,
    FundingRate,
    Gap,
    Interval,
    Kline,
    Market,
    Trade,
    WriteResult,
)

PAGE = 100


def kline(open_time: int, step: int) -> Kline:
    return Kline(
        open_time=open_time, open=1, high=2, low=0.5, close=1.5, volume=1,
        close_time=open_time + step - 1,
    )  # fmt: skip


class FakeExchange:
    def __init__(self, now: int, missing: set[int] | None = None) -> None:
        self.now = now
        self.missing = missing or set()
        self.requests: list[tuple[int, int]] = []

    async def server_time(self) -> int:
        return self.now

    async def iter_klines(
        self, symbol: str, interval: Interval, start: int, end: int
    ) -> AsyncIterator[list[Kline]]:
        step = interval.milliseconds
        assert step is not None
        t = interval.ceil(start)
        while t < min(end, self.now):
            self.requests.append((t, end))
            page = [
                kline(o, step)
                for o in range(t, min(end, self.now), step)[:PAGE]
                if o not in self.missing
            ]
            yield page
            t += PAGE * step

    async def iter_agg_trades(
        self, symbol: str, start: int | None, end: int, *, from_id: int | None = None
    ) -> AsyncIterator[list[Trade]]:
        yield []

    async def iter_funding_rates(
        self, symbol: str, start: int, end: int
    ) -> AsyncIterator[list[FundingRate]]:
        yield []


class FakeStore:
    def __init__(self) -> None:
        self.klines: dict[int, Kline] = {}
        self.writes = 0
        self.markets: set[Market] = set()

    async def get_latest_kline(
        self, symbol: str, interval: Interval | str, *, market: Market
    ) -> Kline | None:
        return self.klines[max(self.klines)] if self.klines else None

    async def insert_klines(
        self, symbol: str, interval: Interval | str, klines: Sequence[Kline], *, market: Market
    ) -> WriteResult:
        self.markets.add(market)
        self.writes += 1
        inserted = sum(1 for k in klines if k.open_time not in self.klines)
        self.klines.update({k.open_time: k for k in klines})
        return WriteResult(received=len(klines), inserted=inserted, updated=len(klines) - inserted)

    async def get_coverage(
        self,
        symbol: str,
        interval: Interval | str,
        *,
        start: int | None,
        end: int | None,
        market: Market,
    ) -> Coverage:
        step = Interval(interval).milliseconds
        assert step is not None
        assert start is not None
        assert end is not None
        gaps: list[Gap] = []
        run: list[int] = []
        for t in range(start, end, step):
            if t in self.klines:
                if run:
                    gaps.append(Gap(start=run[0], end=run[-1], missing=len(run)))
                run = []
            else:
                run.append(t)
        if run:
            gaps.append(Gap(start=run[0], end=run[-1], missing=len(run)))
        present = [t for t in self.klines if start <= t < end]
        return Coverage(
            market=market, symbol=symbol, interval=Interval(interval), start=start, end=end,
            first_open_time=min(present, default=None), last_open_time=max(present, default=None),
            count=len(present), expected=(end - start) // step, gaps=gaps,
        )  # fmt: skip

    async def insert_trades(
        self, symbol: str, trades: Sequence[Trade], *, market: Market
    ) -> WriteResult:
        return WriteResult(received=0, inserted=0, updated=0)

    async def get_trades(self, symbol: str, *, limit: int, market: Market) -> Sequence[Trade]:
        return []

    async def insert_funding_rates(self, symbol: str, rates: Sequence[FundingRate]) -> WriteResult:
        return WriteResult(received=0, inserted=0, updated=0)

    async def get_funding_rates(self, symbol: str, *, limit: int) -> Sequence[FundingRate]:
        return []
