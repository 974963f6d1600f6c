"""When the database fails, every body says why with a reason code and nothing the driver
said: no host, port, user, database name or driver exception; the detail goes to the log.

Real MariaDB and PostgreSQL, behind a fault-injecting TCP proxy or under a database name
that does not exist; a real Data Manager process over HTTP.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.support.server import RunningServer, start_data_manager, start_service
from tests.support.services import ThrowawayDatabase, create_database, drop_database
from tests.support.tcp_proxy import FaultyTcpProxy, Mode

pytestmark = pytest.mark.integration

DRIVER_WORDS = ("Error", "Errno", "MySQL", "asyncpg", "pymysql", "Connect call", "user")
FAST_DEADLINES = {
    "DATA_MANAGER_QUERY_TIMEOUT_S": "2",
    "DATA_MANAGER_CONNECT_TIMEOUT_S": "1",
    "DATA_MANAGER_READINESS_TIMEOUT_S": "1",
    "DATA_MANAGER_CANDLE_CACHE_TTL_S": "0",
}
KLINES = orjson.dumps(
    {
        "symbol": "REASONUSDT",
        "interval": "1m",
        "klines": [[0, "1", "2", "0.5", "1.5", "3", 59_999, "4", 5, "1", "2", "0"]],
    }
)


@pytest.fixture(params=["mariadb", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ThrowawayDatabase]:
    created = create_database(request.param, tmp_path)
    yield created
    drop_database(created)


@pytest.fixture
def proxied(
    database: ThrowawayDatabase, tmp_path: Path
) -> Iterator[tuple[RunningServer, FaultyTcpProxy]]:
    proxy = FaultyTcpProxy(database.host, database.port).start()
    server = start_data_manager(
        database.url_via("127.0.0.1", proxy.port), tmp_path, extra_env=FAST_DEADLINES
    )
    yield server, proxy
    server.stop()
    proxy.stop()


def assert_no_driver_text(body: str, *secrets: str) -> None:
    for word in (*secrets, *DRIVER_WORDS):
        assert word not in body, f"{word!r} in {body}"


@pytest.mark.parametrize(
    ("outage", "reason"),
    [("refuse", "database_unreachable"), ("blackhole", "database_timeout")],
)
def test_an_outage_is_told_by_reason_code_only(
    proxied: tuple[RunningServer, FaultyTcpProxy],
    database: ThrowawayDatabase,
    outage: Mode,
    reason: str,
) -> None:
    server, proxy = proxied
    proxy.set_mode(outage)
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        readiness = http.get("/health/readiness")
        assert readiness.status_code == 503
        assert readiness.json()["stores"]["primary"]["reason"] == reason
        write = http.post("/data/klines", content=KLINES)
        assert write.status_code == 503
        assert write.json() == {
            "detail": "database unavailable",
            "code": "database_unavailable",
            "reason": reason,
        }
        read = http.get("/data/candles", params={"pair": "REASONUSDT", "period": "1m"})
        assert read.status_code == 503
        databases = http.get("/health/databases")
        assert databases.status_code == 503
        assert databases.json()["primary"]["last_error"] == reason
        bodies = [response.text for response in (readiness, write, read, databases)]
    secrets = (database.name, database.host, str(database.port), str(proxy.port))
    for body in bodies:
        assert_no_driver_text(body, *secrets)
    assert "database error" in server.log_tail(200)  # the detail is logged, not answered


def test_a_missing_database_is_not_named(database: ThrowawayDatabase, tmp_path: Path) -> None:
    missing = f"{database.name}_missing"
    url = database.url.replace(database.name, missing)
    server = start_service(
        "data-manager",
        ["data-manager", "serve"],
        tmp_path,
        ready_path="/health/liveness",
        extra_env={
            "DATA_MANAGER_DATABASE_URL": url,
            "DATA_MANAGER_MIGRATE_ON_START": "false",
            **FAST_DEADLINES,
        },
    )
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            readiness = http.get("/health/readiness")
            databases = http.get("/health/databases")
        assert readiness.status_code == 503
        assert readiness.json()["stores"]["primary"]["reason"] == "database_unreachable"
        assert databases.json()["primary"]["last_error"] == "database_unreachable"
        for body in (readiness.text, databases.text):
            assert_no_driver_text(body, missing, database.host, str(database.port))
        assert missing in server.log_tail(200)
    finally:
        server.stop()


def test_readiness_waits_for_the_schema_when_it_is_not_migrated_at_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'unmigrated.db'}"
    server = start_service(
        "data-manager",
        ["data-manager", "serve"],
        tmp_path,
        ready_path="/health/liveness",
        extra_env={"DATA_MANAGER_DATABASE_URL": url, "DATA_MANAGER_MIGRATE_ON_START": "false"},
    )
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            pending = http.get("/health/readiness")
            assert pending.status_code == 503
            assert pending.json()["stores"]["primary"]["reason"] == "migration_pending"
            migrate = subprocess.run(
                [sys.executable, "-m", "petrosa.cli.main", "data-manager", "migrate"],
                env={**os.environ, "DATA_MANAGER_DATABASE_URL": url},
                capture_output=True,
                timeout=120,
                check=False,
            )
            assert migrate.returncode == 0, migrate.stderr
            assert http.get("/health/readiness").status_code == 200  # no restart needed
    finally:
        server.stop()
