"""Large writes in chunks the server accepts, and their results added up."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any, TypeVar

from petrosa.contracts import WriteResult

MAX_BATCH_ROWS = 5_000
"""The server's ``MAX_BATCH_ROWS``: a bigger batch is rejected with 422."""
DEFAULT_CHUNK_ROWS = 1_000
"""Rows per write request: large enough to amortise a round trip, small enough to stream."""

T = TypeVar("T")


def check_chunk_rows(chunk_rows: int) -> None:
    """Reject chunk sizes the server would refuse."""
    if not 1 <= chunk_rows <= MAX_BATCH_ROWS:
        raise ValueError(f"chunk_rows must be between 1 and {MAX_BATCH_ROWS}, got {chunk_rows}")


def chunked(rows: Iterable[Any], size: int, convert: Callable[[Any], T]) -> Iterator[list[T]]:
    """Consecutive lists of at most ``size`` converted rows; lazy, so generators stream."""
    iterator = iter(rows)
    while chunk := [convert(row) for row in islice(iterator, size)]:
        yield chunk


def add_write_results(results: Iterable[WriteResult]) -> WriteResult:
    """The totals of several write results (an empty write is all zeros)."""
    received = inserted = updated = 0
    for result in results:
        received += result.received
        inserted += result.inserted
        updated += result.updated
    return WriteResult(received=received, inserted=inserted, updated=updated)
