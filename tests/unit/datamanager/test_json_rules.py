"""The value rules every backend shares (json_rules), and the 422 body that names a value."""

from __future__ import annotations

import math
from typing import Any

import pytest

from petrosa.datamanager.api.errors import safe_loc
from petrosa.datamanager.json_rules import (
    MAX_NESTING,
    check_json,
    check_number,
    check_operand,
    check_text,
)
from tests.unit.datamanager.test_document_filters import rejected

LIMIT = 1_000


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "value",
    [-(2**63), 2**63 - 1, 2.0**53, -(2.0**53), 0.1, -0.0, 5e-324, True, None],
)
def test_numbers_every_backend_reads_back_are_accepted(value: Any) -> None:
    check_json({"v": value}, ["v"], max_bytes=LIMIT)


@pytest.mark.parametrize(
    "value", [2**63, -(2**63) - 1, 2.0**53 + 2, -1e20, 1e300, math.nan, math.inf, -math.inf]
)
def test_numbers_some_backend_would_change_are_refused(value: Any) -> None:
    assert rejected(check_number, value, ["body", "x"]).loc == ["body", "x"]


@pytest.mark.parametrize(
    ("text", "message"),
    [("a\x00", "NUL"), ("\ud800", "surrogate"), ("ok\udfff", "surrogate at character 2")],
)
def test_text_without_nul_or_lone_surrogates(text: str, message: str) -> None:
    assert message in rejected(check_text, text, ["s"]).message
    check_text("é\U0001f600\u200b\ufeff", ["s"])  # astral and invisible characters are fine


def test_the_loc_is_the_json_path_of_the_value_or_key() -> None:
    value = {"a": [1, {"b": "x\x00"}], "ok": 1}
    assert rejected(check_json, value, ["body", "value"], max_bytes=LIMIT).loc == [
        "body", "value", "a", 1, "b",
    ]  # fmt: skip
    assert rejected(check_json, {"k\ud800": 1}, ["v"], max_bytes=LIMIT).loc == ["v", "k\ud800"]
    assert rejected(check_json, {"k": {1, 2}}, ["v"], max_bytes=LIMIT).loc == ["v", "k"]


def test_nesting_counts_from_where_the_value_sits() -> None:
    check_json(nested(MAX_NESTING), ["v"], max_bytes=LIMIT)
    too_deep = rejected(check_json, nested(MAX_NESTING + 1), ["v"], max_bytes=LIMIT)
    assert too_deep.loc == ["v", *[0] * MAX_NESTING]
    check_json(nested(MAX_NESTING - 3), ["v"], max_bytes=LIMIT, depth=3)
    assert rejected(check_json, nested(MAX_NESTING - 2), ["v"], max_bytes=LIMIT, depth=3)


def test_size_is_counted_in_utf8_bytes_of_compact_json() -> None:
    check_json("é" * 499, ["v"], max_bytes=LIMIT)  # 998 bytes + 2 quotes
    assert "1002 bytes" in rejected(check_json, "é" * 500, ["v"], max_bytes=LIMIT).message


def test_key_rules_apply_to_every_key() -> None:
    def no_dollar(key: str) -> str | None:
        return "no $" if key.startswith("$") else None

    value = {"a": [{"$b": 1}]}
    problem = rejected(check_json, value, ["d"], max_bytes=LIMIT, key_rule=no_dollar)
    assert (problem.loc, problem.message) == (["d", "a", 0, "$b"], "no $")


def test_operands_compare_any_finite_float_but_keep_the_other_rules() -> None:
    check_operand(-1e300, ["f"])
    for bad in (math.nan, 2**64, "\x00", "\ud800"):
        assert rejected(check_operand, bad, ["f"]).loc == ["f"]


def test_a_422_loc_encodes_as_json_and_stays_short() -> None:
    assert safe_loc(["body", 3, "k\ud800", "x" * 100]) == [
        "body", 3, "k\\ud800", "x" * 64 + "…",
    ]  # fmt: skip
