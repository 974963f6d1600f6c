"""Which (market, symbol)s this replica owns: one coordination lease each, a fair share.

Every round (a third of the lease ttl) a replica

1. keeps its registry slot (``realtime:replica:<n>``, one lease per live replica) and
   counts the slots held: the live replicas;
2. renews each symbol lease it holds; one that cannot be renewed is dropped at once;
3. gives back its least preferred symbols beyond the fair share ⌈symbols / live⌉ (a
   replica joined), or claims free ones up to it (a replica died and its leases expired).

Each replica prefers symbols in its own order (a hash of identity and lock name), so
replicas starting together mostly claim different symbols. A lease is acted on only while
``Lease.is_valid`` on the local clock (the coordination package's conservative deadline):
the store lets nobody else take it before then, so two replicas never signal one symbol.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from petrosa.contracts import Market
from petrosa.coordination import Lease, Locks, StoreUnavailable

log = logging.getLogger(__name__)

LOCK_PREFIX = "realtime"
HISTORY_KEPT = 1_000


@dataclass(frozen=True, slots=True, order=True)
class SymbolKey:
    market: Market
    symbol: str

    @property
    def lock_name(self) -> str:
        return f"{LOCK_PREFIX}:{self.market.value}:{self.symbol}"

    @property
    def label(self) -> str:
        return f"{self.market.value}:{self.symbol}"


def slot_name(index: int) -> str:
    return f"{LOCK_PREFIX}:replica:{index}"


def fair_share(symbols: int, replicas: int) -> int:
    return math.ceil(symbols / max(1, replicas))


def preference(identity: str, keys: Sequence[SymbolKey]) -> list[SymbolKey]:
    """This replica's order of the symbols (rendezvous hashing): most wanted first."""

    def score(key: SymbolKey) -> bytes:
        return hashlib.sha256(f"{identity}|{key.lock_name}".encode()).digest()

    return sorted(keys, key=score)


Gained = Callable[[SymbolKey, Lease], None]
Lost = Callable[[SymbolKey, str], None]


class Ownership:
    """The leases of one replica; ``on_gained`` / ``on_lost`` start and drop a symbol."""

    def __init__(
        self,
        locks: Locks,
        keys: Sequence[SymbolKey],
        *,
        ttl_s: float,
        max_replicas: int,
        on_gained: Gained,
        on_lost: Lost,
        journal: Path | None = None,
    ) -> None:
        self.locks = locks
        self.identity = locks.identity
        self.keys = preference(self.identity, keys)
        self.ttl_s = ttl_s
        self.max_replicas = max_replicas
        self.held: dict[SymbolKey, Lease] = {}
        self.slot: Lease | None = None
        self.live_replicas = 0
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY_KEPT)
        self.rounds = 0
        self.last_error: str | None = None
        self._on_gained = on_gained
        self._on_lost = on_lost
        self._journal = journal

    @property
    def renew_interval_s(self) -> float:
        return self.ttl_s / 3

    @property
    def share(self) -> int:
        return fair_share(len(self.keys), self.live_replicas)

    def lease_of(self, key: SymbolKey) -> Lease | None:
        """The lease while it may be acted on; None once its local deadline passed."""
        lease = self.held.get(key)
        if lease is None or not lease.is_valid(self.locks.clock()):
            return None
        return lease

    async def run(self) -> None:
        """Rounds forever; a round that fails (store away) is retried on the next one."""
        while True:
            started = self.locks.clock()
            try:
                await self.step()
                self.last_error = None
            except StoreUnavailable as error:
                self.last_error = str(error)
                log.warning("coordination store unavailable: %s", error)
            self.expire()
            pause = self.renew_interval_s - (self.locks.clock() - started)
            await asyncio.sleep(max(0.05, pause))

    async def step(self) -> None:
        """One round: registry, renewals, then give back or claim toward the fair share."""
        self.rounds += 1
        await self._keep_slot()
        self.live_replicas = await self._count_live()
        await asyncio.gather(*(self._renew(key) for key in list(self.held)))
        if self.slot is None:
            return  # beyond max_replicas: owns nothing
        share = self.share
        if len(self.held) > share:
            surplus = [key for key in reversed(self.keys) if key in self.held]
            for key in surplus[: len(self.held) - share]:
                await self.release(key, "rebalance")
        for key in self.keys:
            if len(self.held) >= share:
                break
            if key not in self.held:
                await self._claim(key)

    def expire(self) -> None:
        """Drop every lease whose local deadline passed (the store may be unreachable)."""
        now = self.locks.clock()
        for key, lease in list(self.held.items()):
            if not lease.is_valid(now):
                self._lose(key, lease, "expired")

    async def release(self, key: SymbolKey, reason: str) -> None:
        lease = self.held.pop(key, None)
        if lease is None:
            return
        self._on_lost(key, reason)
        self._note("released", lease, reason=reason)
        try:
            await self.locks.release(lease)
        except StoreUnavailable as error:
            log.warning("could not release %s, it will expire: %s", key.label, error)

    async def close(self) -> None:
        """Give every lease back (shutdown): the others take over without waiting a ttl."""
        for key in list(self.held):
            await self.release(key, "shutdown")
        if self.slot is not None:
            slot, self.slot = self.slot, None
            with contextlib.suppress(StoreUnavailable):
                await self.locks.release(slot)

    # -- internals -------------------------------------------------------------------------

    async def _keep_slot(self) -> None:
        if self.slot is not None:
            renewed = await self._renewed(self.slot)
            if renewed is not None:
                self.slot = renewed
                return
            self.slot = None
        for index in range(self.max_replicas):
            lease = await self.locks.acquire(slot_name(index), self.identity, self.ttl_s)
            if lease is not None:
                self.slot = lease
                return

    async def _count_live(self) -> int:
        holders = await asyncio.gather(
            *(self.locks.holder(slot_name(i)) for i in range(self.max_replicas))
        )
        live = sum(holder is not None for holder in holders)
        return max(live, 1)

    async def _renewed(self, lease: Lease) -> Lease | None:
        try:
            return await self.locks.renew(lease, deadline=lease.valid_until)
        except StoreUnavailable:
            return None

    async def _renew(self, key: SymbolKey) -> None:
        lease = self.held[key]
        renewed = await self._renewed(lease)
        if key not in self.held:
            return
        if renewed is None or not renewed.is_valid(self.locks.clock()):
            self._lose(key, lease, "renewal failed")
            return
        self.held[key] = renewed
        self._note("renewed", renewed)

    async def _claim(self, key: SymbolKey) -> None:
        lease = await self.locks.acquire(key.lock_name, self.identity, self.ttl_s)
        if lease is None:
            return
        self.held[key] = lease
        self._note("gained", lease)
        log.info("took %s (token %d)", key.label, lease.token)
        self._on_gained(key, lease)

    def _lose(self, key: SymbolKey, lease: Lease, reason: str) -> None:
        if self.held.pop(key, None) is None:
            return
        log.warning("lost %s (token %d): %s", key.label, lease.token, reason)
        self._on_lost(key, reason)
        self._note("lost", lease, reason=reason)

    def _note(self, event: str, lease: Lease, *, reason: str | None = None) -> None:
        """History entry with wall-clock times, so several replicas' entries compare."""
        wall_ms = time.time() * 1000
        entry: dict[str, Any] = {
            "event": event,
            "lock": lease.name,
            "owner": lease.owner,
            "token": lease.token,
            "wall_ms": round(wall_ms),
            "valid_until_wall_ms": round(wall_ms + (lease.valid_until - self.locks.clock()) * 1000),
        }
        if reason is not None:
            entry["reason"] = reason
        if event != "renewed":
            self.history.append(entry)
        if self._journal is not None:
            with self._journal.open("ab") as journal:
                journal.write(orjson.dumps(entry) + b"\n")
