"""Import Binance public-archive kline files (data.binance.vision) through the Data Manager.

Files are ``<SYMBOL>-<interval>-<YYYY-MM[-DD]>.zip`` holding one CSV with Binance's 12 kline
columns, spot or USD-M futures; a run imports into one market (``--market``, default
futures), since the files do not say which they are. A file is checked completely before
anything from it is written: its ``.CHECKSUM`` (sha256) when present, the zip, every row. A
file that fails any check is skipped and reported; nothing from it reaches the database.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from petrosa.contracts import Interval, Kline, Market, WriteResult
from petrosa.contracts.market import DEFAULT_MARKET

FILE_NAME = re.compile(
    r"^(?P<symbol>[A-Z0-9]{2,20})-(?P<interval>[0-9]+[smhdwM])-(?P<date>\d{4}-\d{2}(?:-\d{2})?)\.zip$"
)
MICROSECONDS_THRESHOLD = 10**15
"""Epoch values at or above this are microseconds (16 digits); spot files use them from 2025."""
TIME_COLUMNS = (0, 6)
MIN_COLUMNS = 11


class ArchiveError(Exception):
    """The file is corrupt or not a kline archive; the message says why, in one line."""


@dataclass(frozen=True)
class ArchiveFile:
    path: Path
    symbol: str
    interval: Interval
    period: str

    @property
    def checksum_path(self) -> Path:
        return self.path.with_name(self.path.name + ".CHECKSUM")


@dataclass
class ArchiveContents:
    klines: list[Kline]
    had_header: bool
    microseconds: bool
    checksum_verified: bool


def find_archives(directory: Path) -> tuple[list[ArchiveFile], list[tuple[Path, str]]]:
    """Kline archives below ``directory``, and the zip files that are not (with why)."""
    found: list[ArchiveFile] = []
    ignored: list[tuple[Path, str]] = []
    for path in sorted(directory.rglob("*.zip")):
        match = FILE_NAME.match(path.name)
        if match is None:
            ignored.append((path, "name is not <SYMBOL>-<interval>-<date>.zip"))
            continue
        try:
            interval = Interval(match["interval"])
        except ValueError:
            ignored.append((path, f"interval {match['interval']} is not stored (e.g. 1s)"))
            continue
        found.append(ArchiveFile(path, match["symbol"], interval, match["date"]))
    return found, ignored


def read_archive(archive: ArchiveFile) -> ArchiveContents:
    """Verify and parse one file completely; raises :class:`ArchiveError` on any defect."""
    data = archive.path.read_bytes()
    verified = _verify_checksum(archive, data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as bundle:
            members = [m for m in bundle.namelist() if m.lower().endswith(".csv")]
            if len(members) != 1:
                raise ArchiveError(f"expected one CSV in the zip, found {len(members)}")
            text = bundle.read(members[0]).decode("utf-8")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, UnicodeDecodeError, OSError) as error:
        raise ArchiveError(f"unreadable zip: {error}") from None
    klines, had_header, micro = _parse_rows(csv.reader(io.StringIO(text)))
    return ArchiveContents(klines, had_header, micro, verified)


def _verify_checksum(archive: ArchiveFile, data: bytes) -> bool:
    if not archive.checksum_path.exists():
        return False
    expected = archive.checksum_path.read_text().split()
    if not expected:
        raise ArchiveError("empty .CHECKSUM file")
    actual = hashlib.sha256(data).hexdigest()
    if expected[0].lower() != actual:
        raise ArchiveError(f"sha256 mismatch: file {actual[:12]}…, .CHECKSUM {expected[0][:12]}…")
    return True


def _parse_rows(rows: Iterator[list[str]]) -> tuple[list[Kline], bool, bool]:
    klines: list[Kline] = []
    had_header = False
    micro = False
    for number, row in enumerate(rows, start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if number == 1 and not _is_number(row[0]):
            had_header = True  # futures files since ~2022 start with a header row
            continue
        if len(row) < MIN_COLUMNS:
            raise ArchiveError(f"row {number}: {len(row)} columns, a kline has 12")
        values: list[str | int] = list(row)
        for column in TIME_COLUMNS:
            stamp = _to_int(row[column], number)
            if stamp >= MICROSECONDS_THRESHOLD:
                stamp //= 1000
                micro = True
            values[column] = stamp
        try:
            klines.append(Kline.from_binance(values))
        except (ValidationError, ValueError) as error:
            reason = str(error).splitlines()[-1].strip() if str(error) else type(error).__name__
            raise ArchiveError(f"row {number}: {reason}") from None
    if not klines:
        raise ArchiveError("no kline rows")
    return klines, had_header, micro


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _to_int(cell: str, row: int) -> int:
    try:
        return int(cell.strip())
    except ValueError:
        raise ArchiveError(f"row {row}: time {cell!r} is not an integer") from None


@dataclass
class ImportReport:
    file: str
    symbol: str
    interval: str
    rows: int = 0
    written: int = 0
    status: str = "imported"
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "imported"


async def import_archives(
    directory: Path,
    store: KlineWriter,
    *,
    market: Market = DEFAULT_MARKET,
    on_file: Callable[[ImportReport], None] | None = None,
) -> list[ImportReport]:
    """Import every kline archive below ``directory`` as ``market`` klines; one report per zip
    file found."""
    archives, ignored = find_archives(directory)
    reports = [
        ImportReport(path.name, "", "", status="skipped", detail=why) for path, why in ignored
    ]
    for archive in archives:
        report = ImportReport(archive.path.name, archive.symbol, archive.interval.value)
        try:
            contents = await asyncio.to_thread(read_archive, archive)
        except ArchiveError as error:
            report.status, report.detail = "rejected", str(error)
        else:
            report.rows = len(contents.klines)
            result = await store.insert_klines(
                archive.symbol, archive.interval, contents.klines, market=market
            )
            report.written = result.inserted + result.updated
            report.detail = ", ".join(
                part
                for part, present in (
                    ("header row", contents.had_header),
                    ("µs timestamps", contents.microseconds),
                    ("checksum verified", contents.checksum_verified),
                )
                if present
            )
        if on_file is not None:
            on_file(report)
        reports.append(report)
    return reports


class KlineWriter(Protocol):
    async def insert_klines(
        self, symbol: str, interval: Interval | str, klines: Sequence[Kline], *, market: Market
    ) -> WriteResult: ...
