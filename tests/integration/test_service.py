"""The Data Manager process itself: auth scopes, start-up refusals, health without secrets.

Real processes over HTTP; SQLite unless a test says otherwise (PostgreSQL for the secret).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from petrosa.client import DataManagerClient, PermissionDeniedError
from tests.support.server import start_data_manager
from tests.support.services import create_database, drop_database

pytestmark = pytest.mark.integration

READ_TOKEN = "read-token-0123456789"
WRITE_TOKEN = "write-token-9876543210"
KLINE = [1_700_000_100_000, "1", "2", "0.5", "1.5", "3", 1_700_000_159_999, "4", 5, "1", "2", "0"]


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "petrosa.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_token_scopes(tmp_path: Path) -> None:
    server = start_data_manager(
        f"sqlite:///{tmp_path / 'auth.db'}",
        tmp_path,
        extra_env={
            "DATA_MANAGER_READ_TOKENS": READ_TOKEN,
            "DATA_MANAGER_WRITE_TOKENS": WRITE_TOKEN,
        },
    )
    body = {"symbol": "AUTHUSDT", "interval": "1m", "klines": [KLINE]}
    try:
        with httpx.Client(base_url=server.base_url) as http:
            for path in ("/health/liveness", "/health/readiness", "/health/databases", "/metrics"):
                assert http.get(path).status_code == 200, path
            read = {"pair": "AUTHUSDT", "period": "1m"}
            assert http.get("/data/candles", params=read).status_code == 401
            bad = {"Authorization": "Bearer nope"}
            assert http.get("/data/candles", params=read, headers=bad).status_code == 401
            as_reader = {"Authorization": f"Bearer {READ_TOKEN}"}
            as_writer = {"Authorization": f"Bearer {WRITE_TOKEN}"}
            assert http.get("/data/candles", params=read, headers=as_reader).status_code == 200
            assert http.post("/data/klines", json=body, headers=as_reader).status_code == 403
            assert http.post("/data/klines", json=body).status_code == 401
            assert http.post("/data/klines", json=body, headers=as_writer).status_code == 200
            assert http.get("/data/candles", params=read, headers=as_writer).status_code == 200
    finally:
        server.stop()


async def test_client_sends_its_token(tmp_path: Path) -> None:
    server = start_data_manager(
        f"sqlite:///{tmp_path / 'auth.db'}",
        tmp_path,
        extra_env={
            "DATA_MANAGER_READ_TOKENS": READ_TOKEN,
            "DATA_MANAGER_WRITE_TOKENS": WRITE_TOKEN,
        },
    )
    try:
        async with DataManagerClient(server.base_url, token=WRITE_TOKEN) as writer:
            assert (await writer.insert_klines("AUTHUSDT", "1m", [KLINE])).inserted == 1
        async with DataManagerClient(server.base_url, token=READ_TOKEN) as reader:
            assert await reader.get_latest_kline("AUTHUSDT", "1m") is not None
            with pytest.raises(PermissionDeniedError):
                await reader.insert_klines("AUTHUSDT", "1m", [KLINE])
    finally:
        server.stop()


def test_refuses_public_bind_without_tokens(tmp_path: Path) -> None:
    env = {
        "DATA_MANAGER_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "DATA_MANAGER_READ_TOKENS": "",
        "DATA_MANAGER_WRITE_TOKENS": "",
    }
    result = _cli("data-manager", "serve", "--host", "0.0.0.0", "--port", "0", env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "refusing to serve on 0.0.0.0 without tokens" in lines[0]


def test_bad_database_url_is_one_readable_line(tmp_path: Path) -> None:
    result = _cli("data-manager", "migrate", env={"DATA_MANAGER_DATABASE_URL": "oracle://x/y"})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "unsupported database 'oracle'" in lines[0]


def test_migrate_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'migrate.db'}"
    first = _cli("data-manager", "migrate", env={"DATA_MANAGER_DATABASE_URL": url})
    assert first.returncode == 0, first.stderr
    assert "database at revision" in first.stdout
    again = _cli("data-manager", "migrate", env={"DATA_MANAGER_DATABASE_URL": url})
    assert again.returncode == 0
    assert again.stdout == first.stdout


def test_health_never_shows_credentials(tmp_path: Path) -> None:
    database = create_database("postgresql", tmp_path)
    password = "s3cr3t-Hunter2"  # trust auth: accepted and ignored by the server
    url = database.url.replace("postgres@", f"postgres:{password}@")
    server = start_data_manager(url, tmp_path)
    try:
        with httpx.Client(base_url=server.base_url) as http:
            bodies = [
                http.get(path).text
                for path in ("/health/liveness", "/health/readiness", "/health/databases")
            ]
            bodies.append(http.get("/metrics").text)
            bodies.append(http.get("/openapi.json").text)
        for body in bodies:
            assert password not in body
            assert "postgresql://" not in body
            assert database.name not in body
        assert password not in server.log_tail(1_000)
    finally:
        server.stop()
        drop_database(database)
