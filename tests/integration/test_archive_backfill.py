"""``petrosa backfill archive`` against a real Data Manager (every backend) over HTTP.

Archive files are made here in Binance's formats: spot without a header and with
microsecond timestamps (2025+), USD-M futures with a header row, older futures without one.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration

MINUTE = 60_000
JAN_2025 = 1_735_689_600_000  # 2025-01-01T00:00:00Z
HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
    "taker_buy_volume,taker_buy_quote_volume,ignore"
)


def csv_rows(start_ms: int, count: int, *, micro: bool) -> list[str]:
    scale = 1000 if micro else 1
    lines = []
    for i in range(count):
        t = start_ms + i * MINUTE
        price = 100 + i
        lines.append(
            f"{t * scale},{price}.0,{price + 1}.5,{price - 1}.25,{price}.5,10.5,"
            f"{(t + MINUTE - 1) * scale + (scale - 1)},1050.25,7,5.5,550.75,0"
        )
    return lines


def write_archive(
    folder: Path, name: str, lines: list[str], *, checksum: str | None = "good"
) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(name.replace(".zip", ".csv"), "\n".join(lines) + "\n")
    path = folder / name
    path.write_bytes(buffer.getvalue())
    if checksum is not None:
        digest = hashlib.sha256(buffer.getvalue()).hexdigest()
        if checksum == "bad":
            digest = "0" * 64
        (folder / (name + ".CHECKSUM")).write_text(f"{digest}  {name}\n")
    return path


def run_backfill(directory: Path, dm_url: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "petrosa.cli.main", "backfill", "archive", str(directory), *options],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DATA_MANAGER_URL": dm_url, "COLUMNS": "200"},
        check=False,
    )


def candles(
    dm_url: str, symbol: str, interval: str, market: str = "futures"
) -> list[dict[str, float]]:
    params = {"pair": symbol, "period": interval, "market": market}
    response = httpx.get(f"{dm_url}/data/candles", params={**params, "limit": 5000, "order": "asc"})
    response.raise_for_status()
    result: list[dict[str, float]] = response.json()["candles"]
    return result


def test_imports_spot_and_futures_files_and_rejects_a_bad_checksum(
    dm_url: str, tmp_path: Path
) -> None:
    spot, futures, old, corrupt = (f"A{uuid.uuid4().hex[:8].upper()}" for _ in range(4))
    write_archive(tmp_path, f"{spot}-1m-2025-01-01.zip", csv_rows(JAN_2025, 60, micro=True))
    write_archive(
        tmp_path, f"{futures}-1m-2025-01-01.zip", [HEADER, *csv_rows(JAN_2025, 30, micro=False)]
    )
    write_archive(
        tmp_path, f"{old}-1m-2021-03-01.zip", csv_rows(1_614_556_800_000, 20, micro=False),
        checksum=None,
    )  # fmt: skip
    write_archive(
        tmp_path, f"{corrupt}-1m-2025-01-01.zip", csv_rows(JAN_2025, 10, micro=False),
        checksum="bad",
    )  # fmt: skip
    (tmp_path / "notes.zip").write_bytes(b"not a kline archive")

    result = run_backfill(tmp_path, dm_url)

    assert result.returncode == 1, result.stdout + result.stderr  # one file was rejected
    assert "sha256 mismatch" in result.stdout
    stored_spot = candles(dm_url, spot, "1m")
    assert len(stored_spot) == 60
    assert stored_spot[0]["open_time"] == JAN_2025  # microseconds converted to ms
    assert stored_spot[0]["close_time"] == JAN_2025 + MINUTE - 1
    assert stored_spot[5] == {
        "open_time": JAN_2025 + 5 * MINUTE, "open": 105.0, "high": 106.5, "low": 104.25,
        "close": 105.5, "volume": 10.5, "close_time": JAN_2025 + 6 * MINUTE - 1,
        "quote_volume": 1050.25, "trades": 7, "taker_buy_base_volume": 5.5,
        "taker_buy_quote_volume": 550.75,
    }  # fmt: skip
    assert len(candles(dm_url, futures, "1m")) == 30  # the header row was skipped
    assert len(candles(dm_url, old, "1m")) == 20
    assert candles(dm_url, corrupt, "1m") == []  # nothing from the rejected file

    again = run_backfill(tmp_path, dm_url)  # idempotent: same rows, no duplicates
    assert again.returncode == 1
    assert len(candles(dm_url, spot, "1m")) == 60


def test_a_file_with_a_malformed_row_writes_nothing(dm_url: str, tmp_path: Path) -> None:
    symbol = f"B{uuid.uuid4().hex[:8].upper()}"
    lines = csv_rows(JAN_2025, 50, micro=False)
    lines[40] = lines[40].replace(",10.5,", ",not-a-number,")
    write_archive(tmp_path, f"{symbol}-5m-2025-01-01.zip", lines)
    result = run_backfill(tmp_path, dm_url)
    assert result.returncode == 1
    assert "row 41" in result.stdout
    assert candles(dm_url, symbol, "5m") == []


def test_clean_directory_exits_zero_and_missing_directory_is_one_line(
    dm_url: str, tmp_path: Path
) -> None:
    symbol = f"C{uuid.uuid4().hex[:8].upper()}"
    write_archive(tmp_path, f"{symbol}-1m-2024-06.zip", csv_rows(JAN_2025, 5, micro=False))
    assert run_backfill(tmp_path, dm_url).returncode == 0
    missing = run_backfill(tmp_path / "nope", dm_url)
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0


def test_market_option_imports_spot_files_beside_the_futures_rows(
    dm_url: str, tmp_path: Path
) -> None:
    symbol = f"D{uuid.uuid4().hex[:8].upper()}"
    futures_dir, spot_dir = tmp_path / "futures", tmp_path / "spot"
    futures_dir.mkdir()
    spot_dir.mkdir()
    name = f"{symbol}-1m-2025-01-01.zip"
    write_archive(futures_dir, name, [HEADER, *csv_rows(JAN_2025, 30, micro=False)])
    spot_lines = [line.replace(",10.5,", ",99.5,") for line in csv_rows(JAN_2025, 20, micro=True)]
    write_archive(spot_dir, name, spot_lines)

    assert run_backfill(futures_dir, dm_url).returncode == 0  # futures by default
    futures = candles(dm_url, symbol, "1m")
    assert run_backfill(spot_dir, dm_url, "--market", "spot").returncode == 0

    assert candles(dm_url, symbol, "1m") == futures  # untouched
    spot = candles(dm_url, symbol, "1m", market="spot")
    assert len(spot) == 20
    assert {c["volume"] for c in spot} == {99.5}
    assert {c["volume"] for c in futures} == {10.5}
    bad = run_backfill(spot_dir, dm_url, "--market", "options")
    assert bad.returncode == 2
