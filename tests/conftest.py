"""Shared fixtures. Integration tests run against real servers and a real Data Manager."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from petrosa.client import DataManagerClient
from tests.support.server import RunningServer, start_data_manager
from tests.support.services import BACKENDS, ThrowawayDatabase, create_database, drop_database


@pytest.fixture(scope="session", params=BACKENDS)
def backend_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ThrowawayDatabase]:
    """A fresh database on each backend: SQLite file, MariaDB, PostgreSQL."""
    database = create_database(request.param, tmp_path_factory.mktemp(request.param))
    yield database
    drop_database(database)


@pytest.fixture(params=BACKENDS)
def fresh_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ThrowawayDatabase]:
    """An empty database of its own on each backend (the session's one is already at head),
    for migration tests."""
    database = create_database(request.param, tmp_path_factory.mktemp(request.param))
    yield database
    drop_database(database)


@pytest.fixture(scope="session")
def dm_server(
    backend_database: ThrowawayDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A real ``petrosa data-manager serve`` process on the backend, over HTTP."""
    server = start_data_manager(backend_database.url, tmp_path_factory.mktemp("logs"))
    yield server
    server.stop()


@pytest.fixture
def dm_url(dm_server: RunningServer) -> str:
    return dm_server.base_url


@pytest.fixture
async def client(dm_url: str) -> AsyncIterator[DataManagerClient]:
    """The async client library against the real Data Manager of ``dm_url``."""
    async with DataManagerClient(dm_url) as dm:
        yield dm


@pytest.fixture
async def raw(dm_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Plain HTTP, for bodies the client would never send (NaN, wrong types)."""
    async with httpx.AsyncClient(base_url=dm_url, timeout=30.0) as http:
        yield http


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("service-logs")
