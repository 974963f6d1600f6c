"""``petrosa extract`` end to end: the exchange simulator → the extractor → a real Data Manager.

Every test runs the real command in a subprocess against a real ``exchange-sim`` process and
a real Data Manager over HTTP, on each backend (SQLite file, MariaDB, PostgreSQL).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import orjson
import pytest

from petrosa.client import SyncDataManagerClient
from petrosa.contracts import Kline
from petrosa.contracts.events import ExtractionCompleted
from tests.support.server import RunningServer, start_data_manager, start_exchange_simulator
from tests.support.services import (
    NATS_HOST,
    NATS_PORT,
    ThrowawayDatabase,
    execute,
    require_port,
)

pytestmark = pytest.mark.integration

CLOCK_START = "2026-11-01T00:00:00Z"
NOW_MS = int(dt.datetime.fromisoformat(CLOCK_START).timestamp() * 1000)
MINUTE = 60_000
DAY_CANDLES = 1_440
SYMBOLS = ["BTCUSDT", "ETHUSDT", "XRPUSDT"]


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_exchange_simulator(
        tmp_path_factory.mktemp("sim"), "--clock-start", CLOCK_START, "--freeze-clock"
    )
    yield server
    server.stop()


def extract(
    sim_url: str, dm_url: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "petrosa.cli.main", "extract", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={
            **os.environ,
            "BINANCE_API_URL": sim_url,
            "BINANCE_FUTURES_API_URL": sim_url,
            "DATA_MANAGER_URL": dm_url,
            "NATS_URL": "",
            "COLUMNS": "200",
            **(env or {}),
        },
    )


def summary_row(stdout: str, series: str) -> list[str]:
    """The cells of the summary table row of ``series`` (e.g. "BTCUSDT 1m")."""
    for line in stdout.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells and cells[0] == series:
            return cells
    raise AssertionError(f"no summary row for {series}:\n{stdout}")


def stored(dm_url: str, symbol: str, interval: str = "1m", market: str = "futures") -> list[Kline]:
    """Every stored candle of the series, ascending, following the cursor."""
    with SyncDataManagerClient(dm_url) as client:
        return list(client.iter_candles(symbol, interval, order="asc", market=market))


def coverage(dm_url: str, symbol: str, start: int, end: int) -> dict[str, object]:
    params: dict[str, str | int] = {"symbol": symbol, "interval": "1m", "start": start, "end": end}
    response = httpx.get(f"{dm_url}/data/klines/coverage", params=params)
    response.raise_for_status()
    result: dict[str, object] = response.json()
    return result


def served(
    sim_url: str, symbol: str, start: int, end: int, path: str = "/fapi/v1/klines"
) -> list[Kline]:
    """What the simulator serves for open times in [start, end), straight from its API."""
    candles: list[Kline] = []
    while start < end:
        params: dict[str, str | int] = {
            "symbol": symbol, "interval": "1m", "startTime": start, "endTime": end - 1,
        }  # fmt: skip
        page = httpx.get(f"{sim_url}{path}", params={**params, "limit": 1000}).json()
        candles.extend(Kline.from_binance(row) for row in page)
        start = page[-1][0] + MINUTE
    return candles


def until_for(test_index: int) -> int:
    """A distinct 2-day slot of history per test, so tests sharing a server never overlap."""
    return NOW_MS - test_index * 2 * 86_400_000


def test_runs_are_incremental_and_idempotent(simulator: RunningServer, dm_url: str) -> None:
    until = until_for(1)
    first = extract(
        simulator.base_url, dm_url, "klines", "--interval", "1m", "--symbols", "BTCUSDT",
        "--until", str(until - 10 * MINUTE),
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert len(stored(dm_url, "BTCUSDT")) >= DAY_CANDLES

    before = {k.open_time for k in stored(dm_url, "BTCUSDT")}
    second = extract(
        simulator.base_url, dm_url, "klines", "--interval", "1m", "--symbols", "BTCUSDT",
        "--until", str(until),
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert summary_row(second.stdout, "BTCUSDT 1m")[1:3] == ["10", "10"]  # only the new ones
    after = stored(dm_url, "BTCUSDT")
    assert len(after) == len(before) + 10
    assert len({k.open_time for k in after}) == len(after)  # no duplicates

    third = extract(
        simulator.base_url, dm_url, "klines", "--interval", "1m", "--symbols", "BTCUSDT",
        "--until", str(until),
    )  # fmt: skip
    assert third.returncode == 0
    assert summary_row(third.stdout, "BTCUSDT 1m")[1:3] == ["0", "0"]
    assert len(stored(dm_url, "BTCUSDT")) == len(after)


def test_stored_candles_equal_what_the_simulator_serves(
    simulator: RunningServer, dm_url: str
) -> None:
    until = until_for(2)
    result = extract(
        simulator.base_url, dm_url, "klines", "--interval", "1m", "--symbols", "ETHUSDT",
        "--until", str(until), "--lookback-hours", "6",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    start = until - 6 * 60 * MINUTE
    mine = [k for k in stored(dm_url, "ETHUSDT") if start <= k.open_time < until]
    assert mine == served(simulator.base_url, "ETHUSDT", start, until)
    assert len(mine) == 360


def test_missing_rows_are_found_as_gaps_and_filled(
    simulator: RunningServer, dm_url: str, backend_database: ThrowawayDatabase
) -> None:
    until = until_for(3)
    args = ("klines", "--interval", "1m", "--symbols", "XRPUSDT", "--until", str(until))
    assert extract(simulator.base_url, dm_url, *args).returncode == 0
    start = until - DAY_CANDLES * MINUTE
    hole_a, hole_b = start + 100 * MINUTE, start + 900 * MINUTE
    execute(
        backend_database,
        "DELETE FROM klines WHERE symbol = 'XRPUSDT' AND `interval` = '1m' AND "
        f"((open_time >= {hole_a} AND open_time < {hole_a + 5 * MINUTE}) OR open_time = {hole_b})"
        if backend_database.backend == "mariadb"
        else "DELETE FROM klines WHERE symbol = 'XRPUSDT' AND interval = '1m' AND "
        f"((open_time >= {hole_a} AND open_time < {hole_a + 5 * MINUTE}) OR open_time = {hole_b})",
    )
    damaged = coverage(dm_url, "XRPUSDT", start, until)
    assert len(damaged["gaps"]) == 2  # type: ignore[arg-type]

    repair = extract(simulator.base_url, dm_url, *args)
    assert repair.returncode == 0, repair.stderr
    assert summary_row(repair.stdout, "XRPUSDT 1m")[1:5] == ["6", "6", "2", "2"]
    healed = coverage(dm_url, "XRPUSDT", start, until)
    assert healed["gaps"] == []
    assert healed["count"] == DAY_CANDLES


def test_a_run_killed_midway_and_rerun_leaves_no_gaps_or_duplicates(
    simulator: RunningServer, dm_url: str
) -> None:
    until = until_for(10)
    days = 7
    start = until - days * DAY_CANDLES * MINUTE
    args = [
        sys.executable, "-m", "petrosa.cli.main", "extract", "klines", "--interval", "1m",
        "--symbols", "BNBUSDT", "--until", str(until), "--lookback-hours", str(24 * days),
    ]  # fmt: skip
    env = {
        **os.environ,
        "BINANCE_FUTURES_API_URL": simulator.base_url,
        "DATA_MANAGER_URL": dm_url,
        "NATS_URL": "",
    }
    job = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        count = int(coverage(dm_url, "BNBUSDT", start, until)["count"])  # type: ignore[call-overload]
        if count >= 1_000 or job.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    job.kill()
    job.wait()
    partial = int(coverage(dm_url, "BNBUSDT", start, until)["count"])  # type: ignore[call-overload]
    assert 0 < partial < days * DAY_CANDLES, "the run was not caught midway"

    rerun = extract(
        simulator.base_url, dm_url, "klines", "--interval", "1m", "--symbols", "BNBUSDT",
        "--until", str(until), "--lookback-hours", str(24 * days),
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    final = coverage(dm_url, "BNBUSDT", start, until)
    assert final["gaps"] == []
    assert final["count"] == days * DAY_CANDLES
    candles = [k.open_time for k in stored(dm_url, "BNBUSDT") if start <= k.open_time < until]
    assert len(candles) == len(set(candles)) == days * DAY_CANDLES


def test_unknown_symbol_fails_alone_with_one_line(simulator: RunningServer, dm_url: str) -> None:
    until = until_for(4)
    result = extract(
        simulator.base_url, dm_url, "klines", "--interval", "1m",
        "--symbols", "LTCUSDT,NOPEUSDT,LINKUSDT", "--until", str(until), "--lookback-hours", "2",
    )  # fmt: skip
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: NOPEUSDT: InvalidSymbolError: 400 Bad Request for GET "
                      "/fapi/v1/klines: Invalid symbol. (code -1121)"]  # fmt: skip
    for symbol in ("LTCUSDT", "LINKUSDT"):
        assert coverage(dm_url, symbol, until - 120 * MINUTE, until)["count"] == 120


def test_bad_arguments_exit_2_with_one_line(simulator: RunningServer, dm_url: str) -> None:
    for args, message in [
        (("klines", "--interval", "1m", "--symbols", "btc-usdt"), "malformed symbol"),
        (("klines", "--interval", "1m", "--until", "yesterday"), "--until 'yesterday'"),
        (("klines", "--interval", "1M"), "1M (calendar month)"),
    ]:
        result = extract(simulator.base_url, dm_url, *args)
        assert result.returncode == 2, args
        assert result.stderr.strip().count("\n") == 0
        assert message in result.stderr


def test_dry_run_writes_nothing(simulator: RunningServer, dm_url: str) -> None:
    until = until_for(5)
    result = extract(
        simulator.base_url, dm_url, "klines", "--interval", "5m", "--symbols", "DOTUSDT",
        "--until", str(until), "--dry-run",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "dry run" in result.stdout
    assert summary_row(result.stdout, "DOTUSDT 5m")[1:3] == ["288", "0"]
    assert (
        httpx.get(f"{dm_url}/data/candles", params={"pair": "DOTUSDT", "period": "5m"}).json()[
            "candles"
        ]
        == []
    )


def test_trades_and_funding_are_incremental(simulator: RunningServer, dm_url: str) -> None:
    until = until_for(6)
    first = extract(
        simulator.base_url, dm_url, "trades", "--symbols", "ADAUSDT", "--lookback-hours", "0.25",
        "--until", str(until - 5 * MINUTE),
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    second = extract(
        simulator.base_url, dm_url, "trades", "--symbols", "ADAUSDT", "--lookback-hours", "0.25",
        "--until", str(until),
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    trades = httpx.get(
        f"{dm_url}/data/trades", params={"symbol": "ADAUSDT", "limit": 5000, "order": "asc"}
    ).json()["trades"]
    ids = [t["trade_id"] for t in trades]
    assert ids == sorted(set(ids))
    sim_trades = httpx.get(
        f"{simulator.base_url}/fapi/v1/aggTrades",
        params={"symbol": "ADAUSDT", "fromId": ids[0], "limit": 1000},
    ).json()
    assert ids[: len(sim_trades)] == [t["a"] for t in sim_trades]  # nothing skipped
    assert max(t["time"] for t in trades) < until

    for _ in range(2):
        funding = extract(
            simulator.base_url, dm_url, "funding", "--symbols", "ADAUSDT", "--until", str(until),
            "--lookback-hours", "72",
        )  # fmt: skip
        assert funding.returncode == 0, funding.stderr
    rates = httpx.get(f"{dm_url}/data/funding", params={"symbol": "ADAUSDT", "limit": 5000}).json()[
        "rates"
    ]
    in_window = [r for r in rates if until - 72 * 60 * MINUTE <= r["funding_time"] < until]
    assert len(in_window) == 9  # every 8 hours


def stored_trades(dm_url: str, symbol: str, market: str) -> list[dict[str, object]]:
    params: dict[str, str | int] = {"symbol": symbol, "market": market, "limit": 5000}
    response = httpx.get(f"{dm_url}/data/trades", params={**params, "order": "asc"})
    response.raise_for_status()
    trades: list[dict[str, object]] = response.json()["trades"]
    return trades


def test_a_spot_run_leaves_the_futures_rows_of_its_symbol_alone(
    simulator: RunningServer, dm_url: str
) -> None:
    until = until_for(11)
    start = until - 2 * 60 * MINUTE
    window = ("--symbols", "LINKUSDT", "--until", str(until), "--lookback-hours", "2")

    def run_both(market: str) -> None:
        for dataset in (("klines", "--interval", "1m"), ("trades",)):
            run = extract(simulator.base_url, dm_url, *dataset, *window, "--market", market)
            assert run.returncode == 0, run.stderr

    run_both("futures")
    futures_candles = stored(dm_url, "LINKUSDT")
    futures_trades = stored_trades(dm_url, "LINKUSDT", "futures")
    run_both("spot")

    assert stored(dm_url, "LINKUSDT") == futures_candles  # untouched by the spot run
    assert stored_trades(dm_url, "LINKUSDT", "futures") == futures_trades
    in_window = [k for k in futures_candles if start <= k.open_time < until]
    assert in_window == served(simulator.base_url, "LINKUSDT", start, until)
    spot = [k for k in stored(dm_url, "LINKUSDT", market="spot") if start <= k.open_time < until]
    assert spot == served(simulator.base_url, "LINKUSDT", start, until, "/api/v3/klines")
    assert len(spot) == len(in_window) == 120
    assert spot != in_window  # the markets trade differently: two series, not one

    spot_trades = stored_trades(dm_url, "LINKUSDT", "spot")
    assert spot_trades
    assert futures_trades
    first_id = spot_trades[0]["trade_id"]
    assert isinstance(first_id, int)
    sim_spot = httpx.get(
        f"{simulator.base_url}/api/v3/aggTrades",
        params={"symbol": "LINKUSDT", "fromId": first_id, "limit": 1000},
    ).json()
    assert [t["trade_id"] for t in spot_trades[: len(sim_spot)]] == [t["a"] for t in sim_spot]


async def test_completion_events_reach_nats(simulator: RunningServer, dm_url: str) -> None:
    require_port("NATS", NATS_HOST, NATS_PORT)
    nats_url = f"nats://{NATS_HOST}:{NATS_PORT}"
    listener = await nats.connect(nats_url)
    subscription = await listener.subscribe("binance.klines.*.15m")
    await listener.flush()
    until = until_for(7)
    result = await asyncio.to_thread(
        extract, simulator.base_url, dm_url, "klines", "--interval", "15m",
        "--symbols", ",".join(SYMBOLS), "--until", str(until), env={"NATS_URL": nats_url},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    events: dict[str, ExtractionCompleted] = {}
    for _ in SYMBOLS:
        message = await asyncio.wait_for(subscription.next_msg(), timeout=10)
        event = ExtractionCompleted.model_validate(orjson.loads(message.data))
        assert message.subject == f"binance.klines.{event.symbol}.15m"
        events[event.symbol] = event
    await listener.close()
    assert sorted(events) == sorted(SYMBOLS)
    assert all(e.success and e.records_fetched == 96 for e in events.values())
    assert {e.market for e in events.values()} == {"futures"}


def test_tiny_weight_budget_slows_down_and_finishes_without_a_ban(
    tmp_path: Path,
) -> None:
    sim = start_exchange_simulator(
        tmp_path, "--clock-start", CLOCK_START, "--freeze-clock", "--futures-weight-limit", "12"
    )
    dm = start_data_manager(f"sqlite:///{tmp_path / 'budget.db'}", tmp_path)
    try:
        started = time.monotonic()
        result = extract(
            sim.base_url, dm.base_url, "klines", "--interval", "1m",
            "--symbols", "BTCUSDT,ETHUSDT,BCHUSDT", "--lookback-hours", "24",
        )  # fmt: skip
        elapsed = time.monotonic() - started
        assert result.returncode == 0, result.stderr
        stats = httpx.get(f"{sim.base_url}/sim/stats").json()["markets"]["futures"]
        assert stats["banned_418"] == 0
        assert stats["rate_limited_429"] == 0  # the budget waited instead
        assert stats["weight_total"] > 12  # more than one window's budget was needed …
        assert elapsed > 1  # … so the job had to wait for the next window
        for symbol in ("BTCUSDT", "ETHUSDT", "BCHUSDT"):
            assert (
                coverage(dm.base_url, symbol, NOW_MS - DAY_CANDLES * MINUTE, NOW_MS)["count"]
                == DAY_CANDLES
            )
    finally:
        sim.stop()
        dm.stop()
