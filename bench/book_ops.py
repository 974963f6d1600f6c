"""The socket client's local order book, one operation at a time, on a 1,000-level book.

    python -m bench.book_ops [--levels 1000] [--changes 20] [--rounds 20000]

``apply`` of a diff event (``--changes`` levels a side, a tenth of them removals,
prices anywhere in and around the book), ``top(20)`` as the publisher reads it ~10 times a
second per symbol, ``load`` of a full snapshot, and ``BookSync.on_event`` (validation, the
continuity check and ``apply``) on a synced book. In-process, no server.
"""

from __future__ import annotations

import argparse
import random
import timeit
from typing import Any

from petrosa.socketclient.book import LocalBook
from petrosa.socketclient.book_sync import BookSync

TICK = 0.1
MID = 30_000.0
REMOVE_SHARE = 0.1
"""With prices over 110 % of the book's span, the book stays near its size (~1,000 levels)."""


def snapshot(levels: int, rng: random.Random) -> dict[str, Any]:
    def side(sign: int) -> list[list[str]]:
        return [
            [f"{MID + sign * (i + 1) * TICK:.2f}", f"{rng.uniform(0.001, 5):.8f}"]
            for i in range(levels)
        ]

    return {"lastUpdateId": 1, "bids": side(-1), "asks": side(1)}


def diff_sides(levels: int, changes: int, rng: random.Random) -> tuple[list[Any], list[Any]]:
    def side(sign: int) -> list[list[str]]:
        rows = []
        for _ in range(changes):
            price = f"{MID + sign * rng.randint(1, levels + levels // 10) * TICK:.2f}"
            quantity = (
                "0.00000000" if rng.random() < REMOVE_SHARE else f"{rng.uniform(0.001, 5):.8f}"
            )
            rows.append([price, quantity])
        return rows

    return side(-1), side(1)


def per_call_us(seconds: float, rounds: int) -> float:
    return seconds / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, default=1_000, help="levels a side in the book")
    parser.add_argument("--changes", type=int, default=20, help="levels a side per diff")
    parser.add_argument("--rounds", type=int, default=20_000)
    options = parser.parse_args()
    rng = random.Random(7)
    body = snapshot(options.levels, rng)
    diffs = [diff_sides(options.levels, options.changes, rng) for _ in range(2_000)]

    book = LocalBook.from_snapshot(body)
    cycle = iter(diffs * (options.rounds // len(diffs) + 1))
    spent = timeit.timeit(lambda: book.apply(*next(cycle)), number=options.rounds)
    what = f"{options.changes}+{options.changes} levels"
    print(f"apply ({what}): {per_call_us(spent, options.rounds):.1f} us")
    print(f"  book after: {len(book.bids)} bids, {len(book.asks)} asks")

    book = LocalBook.from_snapshot(body)
    spent = timeit.timeit(lambda: book.top(20), number=options.rounds)
    print(f"top(20): {per_call_us(spent, options.rounds):.2f} us")

    loads = max(1, options.rounds // 100)
    spent = timeit.timeit(lambda: LocalBook.from_snapshot(body), number=loads)
    print(f"load ({options.levels}+{options.levels} levels): {spent / loads * 1e3:.2f} ms")

    sync = BookSync("spot", "BTCUSDT")
    sync.on_event({"U": 2, "u": 2, "b": [], "a": []})
    sync.on_snapshot(body)
    events = [
        {"U": n, "u": n, "b": diffs[n % len(diffs)][0], "a": diffs[n % len(diffs)][1]}
        for n in range(3, 3 + options.rounds)
    ]
    feed = iter(events)
    spent = timeit.timeit(lambda: sync.on_event(next(feed)), number=options.rounds)
    assert sync.synced
    print(f"BookSync.on_event, synced: {per_call_us(spent, options.rounds):.1f} us")


if __name__ == "__main__":
    main()
