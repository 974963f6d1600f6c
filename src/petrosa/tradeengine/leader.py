"""The leader's duties, each round: apply protective orders that filled on the exchange;
every ``reconcile_every_s``, compare positions with the exchange and store their unrealized
P&L; open and close the UTC days of the daily P&L.

Failures are contained where they belong. A duty that fails for one symbol (say, an open
position on a symbol the exchange no longer lists) skips that symbol only: the others are
done, and the failure is reported (readiness problems, ``/reconciliation``) until the duty
next succeeds there or the symbol has no open position left. A dependency that is down for
everyone (the Data Manager, the exchange, the coordination store) ends the duty for this
round with one log line; anything unexpected is logged with its traceback.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from functools import partial

from petrosa.client import DataManagerClient
from petrosa.exchange.trading import ExchangePosition, TradingExchange
from petrosa.tradeengine.executor import Executor
from petrosa.tradeengine.failures import try_again
from petrosa.tradeengine.reasons import safe_description
from petrosa.tradeengine.rollover import DailyRollover

log = logging.getLogger(__name__)
MONITOR_EVERY_S = 2.0
"""How often the leader looks for protective orders that filled on the exchange."""
PROTECTION, RECONCILIATION, MARK, ROLLOVER = (
    "protective orders", "reconciliation", "mark to market", "daily rollover"
)  # fmt: skip

WallClock = Callable[[], float]


@dataclass
class Reconciliation:
    """Open positions by symbol: what the Data Manager says against what the exchange says."""

    checked_at: float | None = None
    differences: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SymbolFailure:
    duty: str
    symbol: str
    error: str
    since: float
    """Wall-clock time of the first failure of this kind."""

    def describe(self) -> str:
        return f"{self.symbol}: {self.duty} failing since {_iso(self.since)}: {self.error}"


class SymbolFailures:
    """What failed for which symbol, kept until the duty next succeeds there."""

    def __init__(self, clock: WallClock = time.time) -> None:
        self.clock = clock
        self._failing: dict[tuple[str, str], SymbolFailure] = {}

    def failed(self, duty: str, symbol: str, error: BaseException) -> bool:
        """Note a failure; True when it is new (or its error changed): worth a traceback."""
        text = safe_description(error)
        previous = self._failing.get((duty, symbol))
        if previous is not None and previous.error == text:
            return False
        since = self.clock() if previous is None else previous.since
        self._failing[(duty, symbol)] = SymbolFailure(duty, symbol, text, since)
        return True

    def succeeded(self, duty: str, symbol: str) -> bool:
        """Forget the duty's failure on ``symbol``; True when there was one."""
        return self._failing.pop((duty, symbol), None) is not None

    def keep_only(self, symbols: Collection[str]) -> None:
        """Forget failures of symbols that no longer have anything to do."""
        for key in [key for key in self._failing if key[1] not in symbols]:
            del self._failing[key]

    def problems(self) -> list[str]:
        return [failure.describe() for _, failure in sorted(self._failing.items())]


class LeaderDuties:
    def __init__(
        self,
        *,
        store: DataManagerClient,
        exchange: TradingExchange,
        executor: Executor,
        rollover: DailyRollover,
        reconcile_every_s: float,
        clock: WallClock = time.time,
    ) -> None:
        self.store = store
        self.exchange = exchange
        self.executor = executor
        self.rollover = rollover
        self.reconcile_every_s = reconcile_every_s
        self.clock = clock
        self.failures = SymbolFailures(clock)
        self.reconciliation = Reconciliation()

    async def run(self, leading: Callable[[], bool]) -> None:
        """Rounds while ``leading()`` holds."""
        next_reconcile = 0.0
        while leading():
            await self.round_of(PROTECTION, self.monitor_protection)
            if time.monotonic() >= next_reconcile:
                failure = await self.round_of(RECONCILIATION, self.reconcile)
                if failure is not None:
                    why = safe_description(failure)
                    self.reconciliation.differences = [f"reconciliation failed: {why}"]
                if failure is None and await self.round_of(MARK, self.mark_to_market) is None:
                    next_reconcile = time.monotonic() + self.reconcile_every_s
            await self.round_of(ROLLOVER, self.rollover.run_round)
            await asyncio.sleep(MONITOR_EVERY_S)

    async def round_of(self, duty: str, work: Callable[[], Awaitable[object]]) -> Exception | None:
        """Run one duty; its failure (logged; the next round tries again), if any."""
        try:
            await work()
        except Exception as error:
            hint = try_again(error)
            if hint is not None:
                log.warning("leader: %s skipped this round: %s", duty, hint.cause)
            else:
                log.exception("leader: %s failed", duty)
            return error
        return None

    async def monitor_protection(self) -> int:
        """Apply filled stop-loss / take-profit orders; returns how many were applied."""
        positions = await self.store.get_open_positions()
        self.failures.keep_only({p.symbol for p in positions})
        applied = 0
        for position in positions:
            settle = partial(self.executor.settle_protection, position)
            applied += await self.for_symbol(PROTECTION, position.symbol, settle)
        return applied

    async def mark_to_market(self) -> int:
        """Store every open position's unrealized P&L at the current mark price; returns
        how many changed."""
        changed = 0
        for symbol in sorted({p.symbol for p in await self.store.get_open_positions()}):
            changed += await self.for_symbol(
                MARK, symbol, partial(self.executor.mark_to_market, symbol)
            )
        return changed

    async def for_symbol(
        self, duty: str, symbol: str, work: Callable[[], Awaitable[int | bool]]
    ) -> int:
        """``work`` for one symbol; its failure is noted and does not reach the others
        (an outage of a shared dependency does: the round cannot go on without it)."""
        try:
            done = int(await work())
        except Exception as error:
            hint = try_again(error)
            if hint is not None and hint.shared:
                raise
            if hint is not None:
                log.info("leader: %s on %s postponed: %s", duty, symbol, hint.cause)
            elif self.failures.failed(duty, symbol, error):
                log.error("leader: %s failed on %s", duty, symbol, exc_info=error)
            return 0
        if self.failures.succeeded(duty, symbol):
            log.info("leader: %s on %s works again", duty, symbol)
        return done

    async def reconcile(self) -> Reconciliation:
        stored = {p.symbol: p for p in await self.store.get_open_positions()}
        held: dict[str, ExchangePosition] = {p.symbol: p for p in await self.exchange.positions()}
        differences: list[str] = []
        for symbol in sorted(set(stored) | set(held)):
            mine, theirs = stored.get(symbol), held.get(symbol)
            if mine is None and theirs is not None:
                differences.append(f"{symbol}: exchange holds {theirs.quantity}, none stored")
            elif mine is not None and theirs is None:
                differences.append(
                    f"{symbol}: stored {mine.side.value} {mine.quantity}, exchange flat"
                )
            elif mine is not None and theirs is not None:
                signed = mine.quantity if mine.side.value == "long" else -mine.quantity
                if signed != theirs.quantity:
                    differences.append(f"{symbol}: stored {signed}, exchange {theirs.quantity}")
        self.reconciliation = Reconciliation(self.clock(), differences)
        for line in differences:
            log.warning("reconciliation: %s", line)
        return self.reconciliation


def _iso(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat(timespec="seconds")
