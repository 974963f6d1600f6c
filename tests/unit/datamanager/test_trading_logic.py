"""Pure logic of trading state: money limits, canonical JSON, audit diffs, exact sums, dates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from petrosa.contracts.trading import (
    PositionIn,
    PositionStatus,
    RealizedPnlIn,
    StrategyConfigIn,
    canonical_json,
    check_money,
    decimal_places,
)
from petrosa.datamanager.trading.audit import AuditChange, parameter_changes
from petrosa.datamanager.trading.config import strategy_scope
from petrosa.datamanager.trading.pnl import exact_sum, utc_date

T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "places"),
    [
        ("1", 0),
        ("1.500", 1),
        ("0.00000", 0),
        ("1E+2", 0),
        ("-0.000000012345678901", 18),
        ("12345678901234567890.123456789012345678", 18),
    ],
)
def test_decimal_places_ignore_trailing_zeros_exactly(text: str, places: int) -> None:
    assert decimal_places(Decimal(text)) == places


@pytest.mark.parametrize(
    "text", ["0.0000000000000000001", "1E+20", "-100000000000000000000", "NaN", "Infinity"]
)
def test_money_outside_the_columns_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="must"):
        check_money(Decimal(text))


def test_money_at_the_limits_is_accepted() -> None:
    edge = Decimal("-99999999999999999999.999999999999999999")
    assert check_money(edge) is edge


def test_canonical_json_is_order_independent_and_type_exact() -> None:
    assert canonical_json({"b": 1, "a": [1, 2]}) == canonical_json({"a": [1, 2], "b": 1})
    assert canonical_json(1) != canonical_json(1.0)
    assert canonical_json(True) != canonical_json(1)
    assert canonical_json("é") == '"é"'
    with pytest.raises(ValueError, match="Out of range"):
        canonical_json(float("nan"))


def position(**changes: Any) -> dict[str, Any]:
    base = {
        "strategy_id": "s1",
        "symbol": "BTCUSDT",
        "side": "long",
        "quantity": "1",
        "entry_price": "2",
        "opened_at": T0,
    }
    return {**base, **changes}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"status": "closed"}, "closed_at"),
        ({"closed_at": T0}, "closed_at"),
        ({"status": "closed", "closed_at": T0 - dt.timedelta(seconds=1)}, "closed_at"),
        ({"metadata": {"x": float("inf")}}, "metadata"),
        ({"strategy_id": "a:b"}, "strategy_id"),
        ({"opened_at": dt.datetime(2024, 3, 1)}, "opened_at"),
        ({"quantity": "-0.1"}, "quantity"),
    ],
)
def test_position_errors_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        PositionIn.model_validate(position(**changes))
    assert [error["loc"][0] for error in caught.value.errors()] == [field]


def test_closed_position_with_its_time_is_valid() -> None:
    closed = PositionIn.model_validate(position(status="closed", closed_at=T0))
    assert closed.status is PositionStatus.CLOSED


def test_money_serializes_as_exact_text() -> None:
    event = RealizedPnlIn(event_id="e", amount=Decimal("-1E-18"), occurred_at=T0)
    assert event.model_dump(mode="json")["amount"] == "-0.000000000000000001"


def test_strategy_parameter_names_must_be_keys() -> None:
    with pytest.raises(ValidationError):
        StrategyConfigIn.model_validate({"parameters": {"": 1}, "changed_by": "me"})


def test_parameter_changes_list_added_removed_and_modified_by_name() -> None:
    old = {"a": 1, "b": [1, 2], "c": "x", "same": {"k": 1}}
    new = {"a": 1.0, "b": [1, 2], "d": None, "same": {"k": 1}}
    assert parameter_changes(old, new) == [
        AuditChange(key="a", old_json="1", new_json="1.0"),
        AuditChange(key="c", old_json='"x"', new_json=None),
        AuditChange(key="d", old_json=None, new_json="null"),
    ]
    assert parameter_changes(new, dict(new)) == []


def test_strategy_scopes() -> None:
    assert strategy_scope("s1") == "strategy:s1"
    assert strategy_scope("s1", "BTCUSDT") == "strategy:s1:BTCUSDT"


def test_exact_sum_keeps_every_digit() -> None:
    a = Decimal("99999999999999999999.999999999999999999")
    b = Decimal("0.000000000000000001")
    assert exact_sum(a, b) == Decimal("100000000000000000000")
    assert exact_sum(Decimal("12345678901.123456789012345678"), Decimal("1")) == Decimal(
        "12345678902.123456789012345678"
    )


def test_utc_date_of_an_offset_time() -> None:
    late = dt.datetime(2024, 3, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-1)))
    early = dt.datetime(2024, 3, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert utc_date(late) == dt.date(2024, 3, 2)
    assert utc_date(early) == dt.date(2024, 2, 29)
