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

MAX_BATCH_BYTES = 8 * 1024 * 1024 - 64 * 1024
"""Encoded rows per document insert: the server's default bulk body limit
(``DATA_MANAGER_MAX_BODY_BYTES_BULK``, 8 MiB) less room for the envelope. Market rows are
small enough that ``MAX_BATCH_ROWS`` of them always fit; documents may not."""

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


def chunked_within(
    rows: Iterable[Any],
    size: int,
    max_bytes: int,
    convert: Callable[[Any], T],
    measure: Callable[[T], int],
) -> Iterator[list[T]]:
    """Like :func:`chunked`, but a chunk also ends before its rows' ``measure`` would pass
    ``max_bytes`` (a row larger than that travels alone)."""
    chunk: list[T] = []
    used = 0
    for row in rows:
        item = convert(row)
        cost = measure(item) + 1  # and its comma
        if chunk and (len(chunk) == size or used + cost > max_bytes):
            yield chunk
            chunk, used = [], 0
        chunk.append(item)
        used += cost
    if chunk:
        yield chunk


def add_write_results(results: Iterable[WriteResult]) -> WriteResult:
    """The totals of several write results (an empty write is all zeros)."""
    received = inserted = updated = 0
    for result in results:
        received += result.received
        inserted += result.inserted
        updated += result.updated
    return WriteResult(received=received, inserted=inserted, updated=updated)
