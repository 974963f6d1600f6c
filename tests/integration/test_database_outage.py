"""The database stops answering, then comes back: truthful readiness, fast 503s, recovery.

Real MariaDB and PostgreSQL behind a fault-injecting TCP proxy; a real Data Manager process
over HTTP. The service is never restarted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.support.server import RunningServer, start_data_manager
from tests.support.services import ThrowawayDatabase, create_database, drop_database
from tests.support.tcp_proxy import FaultyTcpProxy, Mode

pytestmark = pytest.mark.integration

QUERY_TIMEOUT_S = 2.0
DEADLINE_S = 5.0
"""An outage must show within this many seconds: never a hang."""
RECOVERY_S = 20.0


@pytest.fixture(params=["mariadb", "postgresql"])
def proxied_server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[RunningServer, FaultyTcpProxy]]:
    database: ThrowawayDatabase = create_database(request.param, tmp_path)
    proxy = FaultyTcpProxy(database.host, database.port).start()
    server = start_data_manager(
        database.url_via("127.0.0.1", proxy.port),
        tmp_path,
        extra_env={
            "DATA_MANAGER_QUERY_TIMEOUT_S": str(QUERY_TIMEOUT_S),
            "DATA_MANAGER_CONNECT_TIMEOUT_S": "1",
            "DATA_MANAGER_READINESS_TIMEOUT_S": "1",
            "DATA_MANAGER_CANDLE_CACHE_TTL_S": "0",
        },
    )
    yield server, proxy
    server.stop()
    proxy.stop()
    drop_database(database)


def _klines(first_open_time: int, count: int) -> bytes:
    rows = [
        [t, "10", "11", "9", "10.5", "1", t + 59_999, "10", 1, "0.5", "5", "0"]
        for t in range(first_open_time, first_open_time + count * 60_000, 60_000)
    ]
    return orjson.dumps({"symbol": "OUTAGEUSDT", "interval": "1m", "klines": rows})


def _timed(
    call: httpx.Client, method: str, path: str, **kwargs: object
) -> tuple[int, float, httpx.Response]:
    started = time.monotonic()
    response = call.request(method, path, **kwargs)  # type: ignore[arg-type]
    return response.status_code, time.monotonic() - started, response


@pytest.mark.parametrize("outage", ["blackhole", "refuse"])
def test_outage_gives_fast_503_then_recovers_without_restart(
    proxied_server: tuple[RunningServer, FaultyTcpProxy], outage: Mode
) -> None:
    server, proxy = proxied_server
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        assert http.post("/data/klines", content=_klines(0, 10)).status_code == 200

        proxy.set_mode(outage)

        status, elapsed, response = _timed(http, "GET", "/health/readiness")
        assert status == 503
        assert elapsed < DEADLINE_S
        assert response.json()["status"] == "unavailable"

        status, elapsed, response = _timed(
            http, "POST", "/data/klines", content=_klines(600_000, 10)
        )
        assert status == 503, response.text
        assert elapsed < DEADLINE_S
        assert int(response.headers["retry-after"]) >= 1

        status, elapsed, _ = _timed(
            http, "GET", "/data/candles", params={"pair": "OUTAGEUSDT", "period": "1m"}
        )
        assert status == 503
        assert elapsed < DEADLINE_S

        databases = http.get("/health/databases")
        assert databases.status_code == 503
        assert databases.json()["primary"]["connected"] is False
        assert databases.json()["primary"]["last_error"]
        assert http.get("/health/liveness").status_code == 200  # the process itself is fine

        proxy.set_mode("forward")

        deadline = time.monotonic() + RECOVERY_S
        while http.get("/health/readiness").status_code != 200:
            assert time.monotonic() < deadline, "readiness did not recover"
            time.sleep(0.2)
        assert http.post("/data/klines", content=_klines(600_000, 10)).status_code == 200
        candles = http.get(
            "/data/candles", params={"pair": "OUTAGEUSDT", "period": "1m", "limit": 100}
        ).json()["candles"]
        assert len(candles) == 20  # the rejected batch was written only on the retry
    assert "Traceback" not in server.log_tail(400)
