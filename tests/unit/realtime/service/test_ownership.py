"""Symbol ownership on the in-memory lease store with one hand-moved clock for the store and
every replica: fair shares, a joining replica, a dead one's symbols taken over, and never
two valid leases on one symbol."""

from __future__ import annotations

import itertools

from petrosa.contracts import Market
from petrosa.coordination import Locks, MemoryLeaseStore
from petrosa.realtime.service import Ownership, SymbolKey, fair_share
from petrosa.realtime.service.ownership import preference

TTL_S = 3.0
KEYS = [SymbolKey(Market.FUTURES, s) for s in ("BTCUSDT", "ETHUSDT", "BNBUSDT", "XRPUSDT")]
KEYS += [SymbolKey(Market.SPOT, "BTCUSDT")]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Replica:
    def __init__(self, store: MemoryLeaseStore, clock: Clock, name: str) -> None:
        self.events: list[tuple[str, SymbolKey, str]] = []
        self.ownership = Ownership(
            Locks(store, identity=name, clock=clock),
            KEYS,
            ttl_s=TTL_S,
            max_replicas=4,
            on_gained=lambda key, lease: self.events.append(("gained", key, str(lease.token))),
            on_lost=lambda key, reason: self.events.append(("lost", key, reason)),
        )

    def owned(self) -> set[SymbolKey]:
        return {key for key in KEYS if self.ownership.lease_of(key) is not None}


def setup(count: int) -> tuple[Clock, list[Replica]]:
    clock = Clock()
    store = MemoryLeaseStore(clock=clock)
    return clock, [Replica(store, clock, f"r{i}") for i in range(count)]


def assert_exclusive(replicas: list[Replica]) -> None:
    for a, b in itertools.combinations(replicas, 2):
        assert not a.owned() & b.owned()


def test_fair_share_rounds_up() -> None:
    assert [fair_share(10, n) for n in (0, 1, 2, 3, 4, 11)] == [10, 10, 5, 4, 3, 1]


def test_replicas_prefer_different_orders() -> None:
    orders = {tuple(preference(f"r{i}", KEYS)) for i in range(5)}
    assert len(orders) > 1


async def test_one_replica_owns_everything() -> None:
    _, (a,) = setup(1)
    await a.ownership.step()
    assert a.owned() == set(KEYS)
    assert a.ownership.live_replicas == 1


async def test_a_joining_replica_gets_a_fair_share_without_overlap() -> None:
    clock, (a, b) = setup(2)
    await a.ownership.step()
    assert len(a.owned()) == 5
    for _ in range(3):
        clock.now += 1.0
        await b.ownership.step()
        assert_exclusive([a, b])
        await a.ownership.step()
        assert_exclusive([a, b])
    assert len(a.owned()) == 3  # ⌈5 / 2⌉ after giving back
    assert len(b.owned()) == 2
    assert a.owned() | b.owned() == set(KEYS)
    assert any(event == "lost" and reason == "rebalance" for event, _, reason in a.events)


async def test_a_dead_replicas_symbols_are_taken_after_their_leases_expire() -> None:
    clock, (a, b) = setup(2)
    for _ in range(3):
        await a.ownership.step()
        await b.ownership.step()
    dead = b.owned()
    tokens = {key: b.ownership.held[key].token for key in dead}
    assert dead
    clock.now += TTL_S * 0.5
    await a.ownership.step()
    assert not a.owned() & dead  # b's leases still run
    clock.now += TTL_S
    assert b.owned() == set()  # b's own view: past its local deadline, it stops acting
    await a.ownership.step()
    await a.ownership.step()
    assert a.owned() == set(KEYS)
    for key in dead:
        assert a.ownership.held[key].token > tokens[key]


async def test_a_lease_that_cannot_be_renewed_is_dropped() -> None:
    clock, (a, b) = setup(2)
    await a.ownership.step()
    clock.now += TTL_S * 1.5  # a missed its renewals: every lease expired on the store
    await b.ownership.step()  # b counts itself only (a's slot expired) and takes everything
    assert b.owned() == set(KEYS)
    await a.ownership.step()
    assert_exclusive([a, b])
    lost = [key for event, key, _ in a.events if event == "lost"]
    assert set(lost) == set(KEYS)
