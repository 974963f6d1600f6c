"""``LocalBook``: exact levels, absolute quantities, zero removes, all-or-nothing writes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from petrosa.socketclient.book import BookDataError, LocalBook

SNAPSHOT: dict[str, Any] = {
    "lastUpdateId": 100,
    "bids": [["99.50", "1.0"], ["99.00", "2.0"], ["98.00", "3.0"]],
    "asks": [["100.00", "0.5"], ["100.50", "1.5"], ["101.00", "2.5"]],
}


def test_a_loaded_snapshot_reads_best_first_with_the_exchange_text() -> None:
    book = LocalBook.from_snapshot(SNAPSHOT)
    assert book.last_update_id == 100
    assert book.top(2) == (
        [("99.50", "1.0"), ("99.00", "2.0")],
        [("100.00", "0.5"), ("100.50", "1.5")],
    )
    assert book.top(10) == (
        [tuple(level) for level in SNAPSHOT["bids"]],
        [tuple(level) for level in SNAPSHOT["asks"]],
    )
    assert book.top(0) == ([], [])


def test_snapshot_levels_in_any_order_are_sorted() -> None:
    book = LocalBook.from_snapshot(
        {
            "lastUpdateId": 1,
            "bids": [["1", "1"], ["3", "1"], ["2", "1"]],
            "asks": [["9", "1"], ["7", "1"]],
        }
    )
    assert [price for price, _ in book.top(3)[0]] == ["3", "2", "1"]
    assert [price for price, _ in book.top(3)[1]] == ["7", "9"]


def test_quantities_are_absolute_and_new_levels_are_inserted_in_order() -> None:
    book = LocalBook.from_snapshot(SNAPSHOT)
    book.apply([["99.00", "7.25"], ["99.75", "0.1"]], [["100.25", "4"]], update_id=101)
    bids, asks = book.top(3)
    assert bids == [("99.75", "0.1"), ("99.50", "1.0"), ("99.00", "7.25")]
    assert asks == [("100.00", "0.5"), ("100.25", "4"), ("100.50", "1.5")]
    assert book.last_update_id == 101


@pytest.mark.parametrize("zero", ["0", "0.00000000", "0.000", "0E-8", "-0"])
def test_a_zero_quantity_in_any_formatting_removes_the_level(zero: str) -> None:
    book = LocalBook.from_snapshot(SNAPSHOT)
    book.apply([["99.50", zero]], [["100.00", zero]])
    assert book.top(1) == ([("99.00", "2.0")], [("100.50", "1.5")])
    assert len(book.bids) == len(book.asks) == 2


def test_removing_an_unknown_level_is_harmless() -> None:
    book = LocalBook.from_snapshot(SNAPSHOT)
    book.apply([["50", "0"]], [["500", "0.0"]])
    assert book == LocalBook.from_snapshot(SNAPSHOT)


def test_one_price_in_two_spellings_is_one_level_shown_as_last_written() -> None:
    book = LocalBook.from_snapshot(SNAPSHOT)
    book.apply([["99.5", "4.0"]], [["100", "0"]])
    assert len(book.bids) == 3
    assert book.top(1) == ([("99.5", "4.0")], [("100.50", "1.5")])


def test_zero_quantities_in_a_snapshot_are_left_out() -> None:
    book = LocalBook.from_snapshot(
        {"lastUpdateId": 5, "bids": [["1", "0.000"]], "asks": [["2", "1"]]}
    )
    assert len(book.bids) == 0
    assert book.top(5) == ([], [("2", "1")])


@pytest.mark.parametrize(
    "bad_side",
    [
        None,
        "99.5",
        [["99.5"]],
        [["99.5", "1", "2"]],
        [[99.5, "1"]],
        [["99.5", 1]],
        [["abc", "1"]],
        [["99.5", "NaN"]],
        [["99.5", "Infinity"]],
        [["-1", "1"]],
        [["0", "1"]],
        [["99.5", "-1"]],
    ],
)
def test_a_malformed_diff_is_refused_whole(bad_side: Any) -> None:
    book = LocalBook.from_snapshot(SNAPSHOT)
    with pytest.raises(BookDataError):
        book.apply([["98.00", "0"], ["97.00", "1"]], bad_side, update_id=999)
    assert book == LocalBook.from_snapshot(SNAPSHOT)


@pytest.mark.parametrize(
    "snapshot",
    [
        {"bids": [], "asks": []},
        {"lastUpdateId": "100", "bids": [], "asks": []},
        {"lastUpdateId": True, "bids": [], "asks": []},
        {"lastUpdateId": 1, "bids": [["x", "1"]], "asks": []},
        {"lastUpdateId": 1, "bids": []},
    ],
)
def test_a_malformed_snapshot_changes_nothing(snapshot: dict[str, Any]) -> None:
    book = LocalBook.from_snapshot(SNAPSHOT)
    with pytest.raises(BookDataError):
        book.load(snapshot)
    assert book == LocalBook.from_snapshot(SNAPSHOT)


def test_differences_name_each_differing_level_and_the_update_id() -> None:
    book = LocalBook.from_snapshot(SNAPSHOT)
    other = LocalBook.from_snapshot(SNAPSHOT)
    assert book.differences(other) == []
    other.apply([["99.00", "2.00000"]], [], update_id=100)  # same value, other spelling
    assert book == other
    other.apply([["98.00", "0"]], [["102", "1"]], update_id=101)
    assert book.differences(other) == [
        "last_update_id 100 != 101",
        "bid 98.00: 3.0 != None",
        "ask 102: None != 1",
    ]
    assert book != other


def test_clear_and_adopt() -> None:
    book = LocalBook.from_snapshot(SNAPSHOT)
    book.clear()
    assert book.last_update_id is None
    assert book.top(5) == ([], [])
    book.adopt(LocalBook.from_snapshot(SNAPSHOT))
    assert book == LocalBook.from_snapshot(SNAPSHOT)


def test_values_are_exact_decimals() -> None:
    book = LocalBook.from_snapshot(SNAPSHOT)
    assert book.bids.values()[Decimal("99.5")] == Decimal("1")
    assert repr(book) == "LocalBook(last_update_id=100, bids=3, asks=3)"
