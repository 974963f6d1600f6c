"""Choosing a backend from COORDINATION_URL, settings from the environment, and the shape of
each backend's atomic statements (their behaviour is proven on real servers in
tests/integration/test_coordination.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from petrosa.coordination import (
    CoordinationSettings,
    Locks,
    MemoryLeaseStore,
    StoreUnavailable,
    UnsupportedCoordinationURL,
    default_identity,
    open_store,
)
from petrosa.coordination._mongo import (
    MongoLeaseStore,
    acquire_filter,
    acquire_pipeline,
    redact_mongo_url,
)
from petrosa.coordination._sql import SqlLeaseStore
from petrosa.coordination._sql_statements import statements_for
from petrosa.coordination._sql_urls import sql_async_url


@pytest.mark.parametrize(
    ("raw", "driver"),
    [
        ("sqlite:///{tmp}/locks.db", "sqlite+aiosqlite"),
        ("mysql://root@127.0.0.1/db", "mysql+aiomysql"),
        ("mariadb://root@127.0.0.1/db", "mysql+aiomysql"),
        ("mysql+pymysql://root@127.0.0.1/db", "mysql+aiomysql"),
        ("postgresql://u@h/db", "postgresql+asyncpg"),
        ("postgres://u@h/db", "postgresql+asyncpg"),
    ],
)
def test_sql_urls_get_their_async_driver(raw: str, driver: str, tmp_path: Path) -> None:
    assert sql_async_url(raw.format(tmp=tmp_path)).drivername == driver


@pytest.mark.parametrize("raw", ["sqlite://", "sqlite:///:memory:", "oracle://u@h/db", "::"])
def test_unusable_sql_urls_are_refused(raw: str) -> None:
    with pytest.raises(UnsupportedCoordinationURL):
        sql_async_url(raw)


async def test_the_url_scheme_picks_the_store(tmp_path: Path) -> None:
    stores = [
        open_store(url, connect_timeout=1.0, busy_timeout=1.0)
        for url in (
            f"sqlite:///{tmp_path}/locks.db",
            "postgresql://u@127.0.0.1/db",
            "mongodb://u:secret@127.0.0.1:27017/locks",
            "memory://",
        )
    ]
    try:
        assert [type(s) for s in stores] == [
            SqlLeaseStore,
            SqlLeaseStore,
            MongoLeaseStore,
            MemoryLeaseStore,
        ]
        assert [s.backend for s in stores] == ["sqlite", "postgresql", "mongodb", "memory"]
        assert "secret" not in stores[2].label
    finally:
        for store in stores:
            await store.close()
    with pytest.raises(UnsupportedCoordinationURL):
        open_store("redis://127.0.0.1", connect_timeout=1.0, busy_timeout=1.0)


def test_mongo_passwords_are_hidden() -> None:
    assert redact_mongo_url("mongodb://bob:pa55@h:1/db") == "mongodb://bob:***@h:1/db"
    assert redact_mongo_url("mongodb://h:1/db") == "mongodb://h:1/db"


def test_identity_is_the_pod_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTNAME", "tradeengine-7f9c-abcde")
    monkeypatch.delenv("COORDINATION_IDENTITY", raising=False)
    assert default_identity() == "tradeengine-7f9c-abcde"
    monkeypatch.setenv("COORDINATION_IDENTITY", "explicit")
    assert default_identity() == "explicit"


async def test_settings_build_locks_on_the_configured_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COORDINATION_URL", "memory://")
    monkeypatch.setenv("COORDINATION_ATTEMPT_TIMEOUT_S", "0.5")
    monkeypatch.setenv("HOSTNAME", "pod-1")
    settings = CoordinationSettings()
    assert settings.url.get_secret_value() == "memory://"
    async with Locks.from_settings(settings) as locks:
        assert locks.identity == "pod-1"
        assert locks.options.attempt_timeout == 0.5
        assert isinstance(locks.store, MemoryLeaseStore)


def test_every_sql_dialect_decides_expiry_on_the_server_clock() -> None:
    for dialect, now in [
        ("postgresql", "statement_timestamp()"),
        ("mysql", "NOW(6)"),
        ("sqlite", "julianday('now')"),
    ]:
        sql = statements_for(dialect)
        for statement in (sql.acquire, sql.renew, sql.release, sql.holder):
            assert now in statement, (dialect, statement)
            assert ":now" not in statement  # never a client-side time


def test_acquisition_is_one_conditional_statement_per_dialect() -> None:
    postgres, sqlite, mysql = (statements_for(d) for d in ("postgresql", "sqlite", "mysql"))
    for upsert in (postgres, sqlite):
        assert upsert.ensure_row is None
        assert upsert.returning
        assert "ON CONFLICT (name) DO UPDATE" in upsert.acquire
        assert "RETURNING token, expires_at" in upsert.acquire
    assert mysql.ensure_row is not None
    assert "ON DUPLICATE KEY UPDATE" in mysql.ensure_row
    assert mysql.acquire.startswith("UPDATE leases SET\n    token = IF(")
    assert "RETURNING" not in mysql.renew
    with pytest.raises(ValueError, match="oracle"):
        statements_for("oracle")


def test_mongo_acquisition_matches_only_free_expired_or_own_documents() -> None:
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert acquire_filter("lock", "me", now) == {
        "_id": "lock",
        "$or": [{"owner": None}, {"owner": "me"}, {"expires_at": {"$lte": now}}],
    }
    token_stage, owner_stage = acquire_pipeline("$me", now, 2.5)
    assert set(token_stage["$set"]) == {"token"}  # decided from the old document only
    assert owner_stage["$set"] == {
        "owner": {"$literal": "$me"},  # an owner that looks like a field path stays a string
        "expires_at": now + dt.timedelta(seconds=2.5),
    }


async def test_an_unreachable_mongodb_server_is_unavailable_not_an_error() -> None:
    """The real pymongo client, pointed at a closed port: outages map to StoreUnavailable."""
    store = open_store("mongodb://127.0.0.1:1/locks", connect_timeout=0.2, busy_timeout=1.0)
    try:
        with pytest.raises(StoreUnavailable, match="ServerSelectionTimeoutError"):
            await store.acquire("lock", "me", 1.0)
    finally:
        await store.close()
