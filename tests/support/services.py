"""Real servers for integration tests: availability checks and throw-away databases.

Each test session creates its own databases (``petrosa_t_<random>``) on MariaDB and
PostgreSQL and drops them afterwards, so runs never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

MARIADB_HOST, MARIADB_PORT = "127.0.0.1", 3306
POSTGRES_HOST, POSTGRES_PORT = "127.0.0.1", 5432
NATS_HOST, NATS_PORT = "127.0.0.1", 4222

BACKENDS = ("sqlite", "mariadb", "postgresql")


def services_required() -> bool:
    return os.environ.get("PETROSA_REQUIRE_SERVICES", "") not in ("", "0", "false")


def port_open(host: str, port: int, timeout_s: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def require_port(name: str, host: str, port: int) -> None:
    """Skip (or, with PETROSA_REQUIRE_SERVICES=1, fail) when a server is not reachable."""
    if port_open(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if services_required():
        pytest.fail(f"{message} and PETROSA_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


@dataclass(frozen=True)
class ThrowawayDatabase:
    backend: str
    url: str
    """Plain URL (sqlite:///…, mysql://…, postgresql://…) as a user would configure it."""
    name: str
    host: str = ""
    port: int = 0

    def url_via(self, host: str, port: int) -> str:
        """The same database reached through another address (e.g. a fault-injecting proxy)."""
        if self.backend == "mariadb":
            return f"mysql://root@{host}:{port}/{self.name}"
        if self.backend == "postgresql":
            return f"postgresql://postgres@{host}:{port}/{self.name}"
        return self.url


def create_database(backend: str, tmp_dir: Path) -> ThrowawayDatabase:
    name = f"petrosa_t_{uuid.uuid4().hex[:12]}"
    if backend == "sqlite":
        return ThrowawayDatabase(backend, f"sqlite:///{tmp_dir / (name + '.db')}", name)
    if backend == "mariadb":
        require_port("MariaDB", MARIADB_HOST, MARIADB_PORT)
        _mariadb_execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        url = f"mysql://root@{MARIADB_HOST}:{MARIADB_PORT}/{name}"
        return ThrowawayDatabase(backend, url, name, MARIADB_HOST, MARIADB_PORT)
    if backend == "postgresql":
        require_port("PostgreSQL", POSTGRES_HOST, POSTGRES_PORT)
        asyncio.run(_postgres_execute(f'CREATE DATABASE "{name}"'))
        url = f"postgresql://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
        return ThrowawayDatabase(backend, url, name, POSTGRES_HOST, POSTGRES_PORT)
    raise ValueError(backend)


def drop_database(db: ThrowawayDatabase) -> None:
    if db.backend == "mariadb":
        _mariadb_execute(f"DROP DATABASE IF EXISTS `{db.name}`")
    elif db.backend == "postgresql":
        asyncio.run(_postgres_execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)'))


def _mariadb_execute(sql: str, database: str | None = None) -> None:
    import pymysql

    conn = pymysql.connect(
        host=MARIADB_HOST, port=MARIADB_PORT, user="root", password="", database=database
    )
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
        conn.commit()
    finally:
        conn.close()


async def _postgres_execute(sql: str, database: str = "postgres") -> None:
    import asyncpg

    conn = await asyncpg.connect(
        host=POSTGRES_HOST, port=POSTGRES_PORT, user="postgres", database=database
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def execute(database: ThrowawayDatabase, sql: str) -> None:
    """Run one statement directly on the test database (to simulate damage, e.g. lost rows).

    Only tests do this; the services themselves reach the database through the Data Manager.
    """
    if database.backend == "sqlite":
        import sqlite3

        path = database.url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            conn.execute(sql)
    elif database.backend == "mariadb":
        _mariadb_execute(sql, database.name)
    else:
        asyncio.run(_postgres_execute(sql, database.name))
