"""Lease locks and leader election on real stores: SQLite file, MariaDB, PostgreSQL, MongoDB.

SQL stores are throw-away databases on the local servers (tests/support/services.py); their
contenders are separate OS processes (this module run with ``python -m``), each with
several tasks, every task its own connection pool. MongoDB runs against a real ``mongod``
when ``MONGODB_TEST_URI`` is set (test id ``mongodb-real``, contenders in processes), else
against mongomock in this process (test id ``mongodb-mongomock``). Outages use the
fault-injecting TCP proxy in front of MariaDB and PostgreSQL.

Every holder records (lock, token, owner, enter, exit) on the machine-wide monotonic clock;
the checks are that no two tenures of one lock overlap and that tokens strictly increase in
the order the tenures happened.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import itertools
import json
import os
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from petrosa.coordination import (
    LeaderElection,
    Lease,
    LeaseStore,
    LockOptions,
    Locks,
    LossReason,
    StoreUnavailable,
    open_store,
)
from petrosa.coordination._mongo import LeaseCollection, MatchCount, MongoLeaseStore
from tests.support.services import ThrowawayDatabase, create_database, drop_database
from tests.support.tcp_proxy import FaultyTcpProxy
from tests.unit.coordination.fakes import SwitchableStore

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
MONGODB_TEST_URI = os.environ.get("MONGODB_TEST_URI", "")
MONGO_ID = "mongodb-real" if MONGODB_TEST_URI else "mongodb-mongomock"
BACKEND_IDS = ("sqlite", "mariadb", "postgresql", MONGO_ID)

# Many contenders, thousands of acquisitions in total.
PROCESSES = 5
TASKS_PER_PROCESS = 3
ITERATIONS = 40
"""Per task: 5 x 3 x 40 = 600 acquisitions per backend, 2,400 over the four."""
LOCK_NAMES = ("stress-a", "stress-b", "stress-c")
STRESS_TTL_S = 10.0
STRESS_WAIT_S = 60.0
STRESS_OPTIONS = LockOptions(
    attempt_timeout=5.0, operation_timeout=20.0, poll_initial=0.002, poll_max=0.03
)
CHILD_TIMEOUT_S = 90.0

# Leader election: three contenders, a short lease so failover is quick.
ELECTION_TTL_S = 1.5
ELECTION_RENEW_S = 0.3
ELECTION_OPTIONS = LockOptions(attempt_timeout=0.5, operation_timeout=1.5, backoff_initial=0.05)
FAILOVER_SLACK_S = 4.0
"""Scheduling allowance on top of ttl + one retry interval on a busy 2-core machine (CI
shares it): a failover is late only when it takes several ttls."""
HEARTBEAT_S = 0.2

# Connection loss.
OUTAGE_TTL_S = 1.5
OUTAGE_OPTIONS = LockOptions(
    attempt_timeout=0.4, operation_timeout=1.0, backoff_initial=0.05, backoff_max=0.3
)
LOSS_SLACK_S = 3.0
"""How late after its lease end a cut-off holder may notice, or a waiting contender take
over, on a busy machine (the lease itself is never valid past its end)."""


# ---------------------------------------------------------------------------------------
# Backends


class MongomockLeases:
    """mongomock's (synchronous, in-process) collection behind the async interface that
    MongoLeaseStore uses with pymongo's AsyncCollection."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection

    async def find_one_and_update(
        self,
        filter: Mapping[str, Any],
        update: Sequence[Mapping[str, Any]],
        *,
        upsert: bool,
        return_document: bool,
    ) -> Mapping[str, Any] | None:
        document: Mapping[str, Any] | None = self._collection.find_one_and_update(
            filter, list(update), upsert=upsert, return_document=return_document
        )
        return document

    async def update_one(
        self, filter: Mapping[str, Any], update: Sequence[Mapping[str, Any]]
    ) -> MatchCount:
        result: MatchCount = self._collection.update_one(filter, list(update))
        return result

    async def find_one(self, filter: Mapping[str, Any]) -> Mapping[str, Any] | None:
        document: Mapping[str, Any] | None = self._collection.find_one(filter)
        return document


async def mongomock_clock() -> dt.datetime:
    """mongomock's "server" is this process: its clock is ours, at BSON's millisecond grain."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass
class Backend:
    id: str
    url: str | None
    """What separate processes connect to; None when the store lives in this process."""
    make_store: Callable[[], LeaseStore]
    database: ThrowawayDatabase | None = None

    def locks(self, identity: str, options: LockOptions) -> Locks:
        return Locks(self.make_store(), options=options, identity=identity)


class Databases:
    """Throw-away databases created on first use and dropped when the module ends."""

    def __init__(self, tmp_dir: Path) -> None:
        self._tmp_dir = tmp_dir
        self._created: dict[str, ThrowawayDatabase] = {}
        self._cleanups: list[Callable[[], None]] = []

    def sql(self, backend: str) -> ThrowawayDatabase:
        if backend not in self._created:
            database = create_database(backend, self._tmp_dir)
            self._created[backend] = database
            self._cleanups.append(lambda: drop_database(database))
        return self._created[backend]

    def backend(self, backend_id: str) -> Backend:
        if backend_id.startswith("mongodb"):
            return self._mongo()
        database = self.sql(backend_id)
        url = database.url

        def make_store() -> LeaseStore:
            return open_store(url, connect_timeout=2.0, busy_timeout=STRESS_OPTIONS.attempt_timeout)

        return Backend(backend_id, url, make_store, database)

    def _mongo(self) -> Backend:
        if MONGODB_TEST_URI:
            url = self._real_mongo_url()
            return Backend(MONGO_ID, url, lambda: MongoLeaseStore.connect(url, connect_timeout=2.0))
        import mongomock

        collection: Any = mongomock.MongoClient(tz_aware=True).db.leases
        leases: LeaseCollection = MongomockLeases(collection)
        return Backend(MONGO_ID, None, lambda: MongoLeaseStore(leases, mongomock_clock))

    def _real_mongo_url(self) -> str:
        name = f"petrosa_t_{uuid.uuid4().hex[:12]}"
        parts = urlsplit(MONGODB_TEST_URI)
        url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))

        def drop() -> None:
            import pymongo

            client: pymongo.MongoClient[dict[str, Any]]
            with pymongo.MongoClient(url) as client:
                client.drop_database(name)

        self._cleanups.append(drop)
        return url

    def drop_all(self) -> None:
        for cleanup in self._cleanups:
            cleanup()


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    pool = Databases(tmp_path_factory.mktemp("coordination"))
    yield pool
    pool.drop_all()


@pytest.fixture(params=BACKEND_IDS)
def backend(request: pytest.FixtureRequest, databases: Databases) -> Backend:
    return databases.backend(request.param)


# ---------------------------------------------------------------------------------------
# Tenures: who held which lock when


@dataclass(frozen=True)
class Tenure:
    name: str
    token: int
    owner: str
    enter: float
    exit: float
    valid: bool
    """The holder's lease was valid on entering and on leaving its critical section."""


def check_exclusive(tenures: Sequence[Tenure]) -> dict[str, int]:
    """No overlap per lock, tokens strictly increasing in tenure order; tenures per lock."""
    by_name: dict[str, list[Tenure]] = defaultdict(list)
    for tenure in tenures:
        by_name[tenure.name].append(tenure)
    for name, held in by_name.items():
        held.sort(key=lambda t: t.enter)
        assert all(t.valid for t in held), f"{name}: a holder acted on an invalid lease"
        for before, after in itertools.pairwise(held):
            assert before.exit <= after.enter, f"{name}: two holders at once: {before} {after}"
            assert after.token > before.token, f"{name}: token not increasing: {before} {after}"
    return {name: len(held) for name, held in by_name.items()}


async def contend(
    make_locks: Callable[[str], Locks], *, process: int, tasks: int, iterations: int
) -> list[Tenure]:
    """``tasks`` contenders, each with its own Locks, each holding locks ``iterations`` times."""

    async def one(task: int) -> list[Tenure]:
        owner = f"p{process}-t{task}"
        tenures = []
        async with make_locks(owner) as locks:
            for i in range(iterations):
                name = LOCK_NAMES[(process + task + i) % len(LOCK_NAMES)]
                async with locks.hold(name, owner, STRESS_TTL_S, wait=STRESS_WAIT_S) as held:
                    enter = time.monotonic()
                    valid = held.valid
                    await asyncio.sleep(0)  # let everyone else run while this one holds
                    valid = valid and held.valid
                    leave = time.monotonic()
                tenures.append(Tenure(name, held.token, owner, enter, leave, valid))
        return tenures

    per_task = await asyncio.gather(*(one(task) for task in range(tasks)))
    return [tenure for tenures in per_task for tenure in tenures]


# ---------------------------------------------------------------------------------------
# Contender processes: this module run as ``python -m tests.integration.test_coordination``


def spawn(role: str, log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.integration.test_coordination", role, *args],
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


def _child_contend(url: str, out: Path, process: int) -> None:
    def make_locks(owner: str) -> Locks:
        return Locks.from_url(url, options=STRESS_OPTIONS, identity=owner)

    tenures = asyncio.run(
        contend(make_locks, process=process, tasks=TASKS_PER_PROCESS, iterations=ITERATIONS)
    )
    out.write_text("".join(json.dumps(asdict(t)) + "\n" for t in tenures))


def _child_elect(url: str, out: Path, identity: str) -> None:
    async def campaign() -> None:
        with out.open("a", buffering=1) as report:

            def write(**event: object) -> None:
                report.write(json.dumps({"t": time.monotonic(), "id": identity, **event}) + "\n")

            locks = Locks.from_url(url, options=ELECTION_OPTIONS, identity=identity)
            election = LeaderElection(
                locks,
                "leader",
                ttl=ELECTION_TTL_S,
                renew_interval=ELECTION_RENEW_S,
                on_change=lambda leading: write(leading=leading, token=election.token),
            )
            election.start()
            while True:  # until the test kills this process
                write(attempts=election.attempts, healthy=election.healthy)
                await asyncio.sleep(HEARTBEAT_S)

    asyncio.run(campaign())


def _child_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["contend", "elect"])
    parser.add_argument("url")
    parser.add_argument("out", type=Path)
    parser.add_argument("who")
    args = parser.parse_args(argv)
    if args.role == "contend":
        _child_contend(args.url, args.out, int(args.who))
    else:
        _child_elect(args.url, args.out, args.who)


# ---------------------------------------------------------------------------------------
# The lease rules on every backend


async def test_lease_rules_hold_on_every_backend(backend: Backend) -> None:
    options = LockOptions(attempt_timeout=2.0, operation_timeout=5.0)
    async with backend.locks("a", options) as a, backend.locks("b", options) as b:
        first = await a.acquire("rules", "a", 5.0)
        assert first is not None
        # A new lock's first token is the store's time in µs: after a wiped store, new
        # tokens still exceed every earlier one.
        assert abs(first.token / 1_000_000 - time.time()) < 60, first.token
        assert await b.acquire("rules", "b", 5.0) is None
        again = await a.acquire("rules", "a", 5.0)  # re-acquire by the holder: extends
        assert again is not None
        assert again.token == first.token
        holder = await b.holder("rules")
        assert holder is not None
        assert (holder.owner, holder.token) == ("a", first.token)
        renewed = await a.renew(again)
        assert renewed is not None
        assert renewed.token == first.token
        assert renewed.expires_at >= again.expires_at
        assert not await b.release(dataclasses.replace(renewed, owner="b"))  # not the holder
        assert await a.release(renewed)
        assert not await a.release(renewed)  # idempotent
        assert await a.holder("rules") is None
        assert await a.renew(renewed) is None

        short = await b.acquire("rules", "b", 0.3)  # released: a new holder, a new token
        assert short is not None
        assert short.token == first.token + 1
        await asyncio.sleep(0.3)
        assert await a.holder("rules") is None  # expired on the store's clock
        taken = await a.acquire("rules", "a", 5.0)
        assert taken is not None
        assert taken.token == short.token + 1
        assert await b.renew(short) is None  # its lease was taken: renewal fails
        assert not await b.release(short)
        own_again = await a.acquire("rules", "a", 5.0)
        assert own_again is not None
        assert own_again.token == taken.token
        assert a.healthy
        assert b.healthy


async def test_a_holder_that_stops_renewing_loses_the_lock_after_its_ttl(backend: Backend) -> None:
    options = LockOptions(attempt_timeout=2.0, operation_timeout=5.0, poll_max=0.05)
    async with backend.locks("stuck", options) as stuck, backend.locks("next", options) as nxt:
        lease = await stuck.acquire("takeover", "stuck", 1.0)
        assert lease is not None
        async with nxt.hold("takeover", "next", 5.0, wait=4.0) as held:
            acquired_at = time.monotonic()
            assert held.token == lease.token + 1
            assert acquired_at >= lease.valid_until  # the old holder had already stopped
            assert acquired_at - lease.valid_until < LOSS_SLACK_S
            assert await stuck.renew(lease) is None
            assert not await stuck.release(lease)
            holder = await stuck.holder("takeover")
            assert holder is not None
            assert (holder.owner, holder.token) == ("next", held.token)


# ---------------------------------------------------------------------------------------
# Many contenders


async def test_many_contenders_never_hold_a_lock_together(
    backend: Backend, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    if backend.url is None:
        tenures = await contend_in_process(backend)
        where = f"{PROCESSES * TASKS_PER_PROCESS} tasks in this process"
    else:
        tenures = await contend_in_processes(backend.url, tmp_path)
        where = f"{PROCESSES} processes x {TASKS_PER_PROCESS} tasks"
    elapsed = time.monotonic() - started

    counts = check_exclusive(tenures)
    assert sum(counts.values()) == PROCESSES * TASKS_PER_PROCESS * ITERATIONS
    assert set(counts) == set(LOCK_NAMES)
    with capsys.disabled():
        print(
            f"\n[{backend.id}] {sum(counts.values())} acquisitions by {where}"
            f" in {elapsed:.1f}s: no overlap, tokens strictly increasing {counts}"
        )


async def contend_in_process(backend: Backend) -> list[Tenure]:
    def make_locks(owner: str) -> Locks:
        return backend.locks(owner, STRESS_OPTIONS)

    per_process = await asyncio.gather(
        *(
            contend(make_locks, process=p, tasks=TASKS_PER_PROCESS, iterations=ITERATIONS)
            for p in range(PROCESSES)
        )
    )
    return [tenure for tenures in per_process for tenure in tenures]


async def contend_in_processes(url: str, tmp_path: Path) -> list[Tenure]:
    outputs = [tmp_path / f"tenures-{p}.jsonl" for p in range(PROCESSES)]
    children = [
        spawn("contend", tmp_path / f"contend-{p}.log", url, str(out), str(p))
        for p, out in enumerate(outputs)
    ]
    try:
        for p, child in enumerate(children):
            code = await asyncio.to_thread(child.wait, CHILD_TIMEOUT_S)
            log = (tmp_path / f"contend-{p}.log").read_text()
            assert code == 0, f"contender {p} failed:\n{log[-3000:]}"
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    return [Tenure(**json.loads(line)) for out in outputs for line in out.read_text().splitlines()]


# ---------------------------------------------------------------------------------------
# Leader election


@dataclass
class Transition:
    at: float
    identity: str
    leading: bool
    token: int | None


@dataclass
class ElectionLog:
    transitions: list[Transition] = field(default_factory=list)
    attempts: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    def leaders(self) -> set[str]:
        state: dict[str, bool] = {}
        for change in self.transitions:
            state[change.identity] = change.leading
        return {identity for identity, leading in state.items() if leading}

    def check_one_leader_at_a_time(self, ended: Mapping[str, float], end: float) -> None:
        """Leadership intervals never overlap; a killed leader's ends when it was killed."""
        intervals: list[tuple[float, float, str]] = []
        began: dict[str, float] = {}
        for change in sorted(self.transitions, key=lambda c: c.at):
            if change.leading:
                began[change.identity] = change.at
            elif change.identity in began:
                intervals.append((began.pop(change.identity), change.at, change.identity))
        for identity, start in began.items():
            intervals.append((start, ended.get(identity, end), identity))
        intervals.sort()
        for before, after in itertools.pairwise(intervals):
            assert before[1] <= after[0], f"two leaders at once: {before} {after}"


ELECTION_IDS = ("pod-0", "pod-1", "pod-2")


async def test_three_contenders_elect_one_leader_and_fail_over_when_it_dies(
    backend: Backend, tmp_path: Path
) -> None:
    if backend.url is None:
        log, killed, killed_at, ended = await election_in_process(backend)
    else:
        log, killed, killed_at, ended = await election_in_processes(backend.url, tmp_path)

    log.check_one_leader_at_a_time(ended, time.monotonic())
    first = next(c for c in log.transitions if c.leading and c.identity == killed)
    successor = next(
        c for c in log.transitions if c.leading and c.identity != killed and c.at > killed_at
    )
    assert successor.at - killed_at <= ELECTION_TTL_S + ELECTION_RENEW_S + FAILOVER_SLACK_S
    assert first.token is not None
    assert successor.token == first.token + 1
    bystander = next(i for i in ELECTION_IDS if i not in (killed, successor.identity))
    tries = log.attempts[bystander]
    assert tries[-1] > tries[0] + 3, "a follower stopped trying"


async def wait_until(condition: Callable[[], bool], within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def election_in_processes(
    url: str, tmp_path: Path
) -> tuple[ElectionLog, str, float, dict[str, float]]:
    reports = {identity: tmp_path / f"{identity}.jsonl" for identity in ELECTION_IDS}
    children = {
        identity: spawn("elect", tmp_path / f"{identity}.log", url, str(path), identity)
        for identity, path in reports.items()
    }
    log = ElectionLog()

    def read() -> ElectionLog:
        fresh = ElectionLog()
        for path in reports.values():
            if not path.exists():
                continue
            for line in path.read_text().splitlines():
                event = json.loads(line)
                if "leading" in event:
                    fresh.transitions.append(
                        Transition(event["t"], event["id"], event["leading"], event["token"])
                    )
                else:
                    fresh.attempts[event["id"]].append(event["attempts"])
        return fresh

    try:
        await wait_until(lambda: len(read().leaders()) == 1, 15.0, "a first leader")
        await asyncio.sleep(3 * ELECTION_RENEW_S)  # renewals go on; nobody else leads
        assert len(read().leaders()) == 1
        (killed,) = read().leaders()
        children[killed].kill()  # SIGKILL: no resignation, no release
        killed_at = time.monotonic()
        children[killed].wait()
        await wait_until(
            lambda: bool(read().leaders() - {killed}),
            ELECTION_TTL_S + ELECTION_RENEW_S + 2 * FAILOVER_SLACK_S,
            "a new leader",
        )
        await asyncio.sleep(3 * ELECTION_RENEW_S)
        log = read()
    finally:
        for child in children.values():
            if child.poll() is None:
                child.kill()
                child.wait()
    return log, killed, killed_at, {killed: killed_at}


async def election_in_process(
    backend: Backend,
) -> tuple[ElectionLog, str, float, dict[str, float]]:
    log = ElectionLog()
    stores = {identity: SwitchableStore(backend.make_store()) for identity in ELECTION_IDS}
    elections: dict[str, LeaderElection] = {}
    for identity, store in stores.items():

        def record(leading: bool, identity: str = identity) -> None:
            log.transitions.append(
                Transition(time.monotonic(), identity, leading, elections[identity].token)
            )

        locks = Locks(store, options=ELECTION_OPTIONS, identity=identity)
        elections[identity] = LeaderElection(
            locks, "leader", ttl=ELECTION_TTL_S, renew_interval=ELECTION_RENEW_S, on_change=record
        )

    async def heartbeat() -> None:
        while True:
            for identity, election in elections.items():
                log.attempts[identity].append(election.attempts)
            await asyncio.sleep(HEARTBEAT_S)

    beat = asyncio.create_task(heartbeat())
    for election in elections.values():
        election.start()
    try:
        await wait_until(lambda: len(log.leaders()) == 1, 10.0, "a first leader")
        await asyncio.sleep(3 * ELECTION_RENEW_S)
        assert len(log.leaders()) == 1
        (killed,) = log.leaders()
        stores[killed].frozen = True
        killed_at = time.monotonic()
        await wait_until(
            lambda: bool(log.leaders() - {killed}),
            ELECTION_TTL_S + ELECTION_RENEW_S + 2 * FAILOVER_SLACK_S,
            "a new leader",
        )
        await asyncio.sleep(3 * ELECTION_RENEW_S)
        # The frozen one noticed by itself, at its lease's local deadline.
        assert not elections[killed].is_leader
        assert elections[killed].last_loss is LossReason.EXPIRED
    finally:
        beat.cancel()
        for identity, election in elections.items():
            stores[identity].frozen = False
            await election.resign()
            await election.locks.close()
    ended = {c.identity: c.at for c in log.transitions if c.identity == killed and not c.leading}
    return log, killed, killed_at, ended


# ---------------------------------------------------------------------------------------
# Connection loss


@pytest.fixture(params=["mariadb", "postgresql"])
def proxied(
    request: pytest.FixtureRequest, databases: Databases
) -> Iterator[tuple[ThrowawayDatabase, FaultyTcpProxy]]:
    """A server database, and a fault-injecting proxy in front of it."""
    database = databases.sql(request.param)
    proxy = FaultyTcpProxy(database.host, database.port).start()
    yield database, proxy
    proxy.stop()


async def test_a_holder_cut_off_from_its_store_gives_the_lock_up_by_its_lease_end(
    proxied: tuple[ThrowawayDatabase, FaultyTcpProxy],
) -> None:
    database, proxy = proxied
    await cut_off_holder_scenario(database.url_via("127.0.0.1", proxy.port), database, proxy)


async def take_when_free(locks: Locks, name: str) -> tuple[Lease, float]:
    """Poll until ``name`` is acquired; the lease and the local time it was granted."""
    while True:
        lease = await locks.acquire(name, locks.identity, OUTAGE_TTL_S)
        if lease is not None:
            return lease, time.monotonic()
        await asyncio.sleep(0.02)


async def cut_off_holder_scenario(
    proxied_url: str, database: ThrowawayDatabase, proxy: FaultyTcpProxy
) -> None:
    name = f"outage-{uuid.uuid4().hex[:6]}"
    async with (
        Locks.from_url(proxied_url, options=OUTAGE_OPTIONS, identity="cut") as cut,
        Locks.from_url(database.url, options=OUTAGE_OPTIONS, identity="other") as other,
        cut.hold(name, "cut", OUTAGE_TTL_S) as held,
    ):
        assert cut.healthy
        await asyncio.sleep(OUTAGE_TTL_S / 2)  # a renewal or two went through
        assert held.valid

        proxy.set_mode("blackhole")
        deadline = held.lease.valid_until
        takeover = asyncio.create_task(take_when_free(other, name))
        reason = await asyncio.wait_for(held.wait_lost(), OUTAGE_TTL_S + LOSS_SLACK_S)
        lost_at = time.monotonic()
        assert reason is LossReason.EXPIRED
        assert lost_at - deadline < LOSS_SLACK_S  # at the lease end, not later
        assert not held.valid
        assert not cut.healthy
        assert cut.last_error is not None

        taken, taken_at = await asyncio.wait_for(takeover, OUTAGE_TTL_S)
        assert taken_at >= deadline  # not handed over before the cut-off holder stopped
        assert taken.token > held.token
        with pytest.raises(StoreUnavailable):
            await cut.acquire(name, "cut", OUTAGE_TTL_S)
        assert await other.release(taken)

        proxy.set_mode("forward")
        again = None
        recovery_deadline = time.monotonic() + 10.0
        while again is None and time.monotonic() < recovery_deadline:
            with contextlib.suppress(StoreUnavailable):
                again = await cut.acquire(name, "cut", OUTAGE_TTL_S)
        assert again is not None
        assert again.token > taken.token
        assert cut.healthy
        assert await cut.release(again)


if __name__ == "__main__":
    _child_main(sys.argv[1:])
