"""Property: a document the Data Manager accepts reads back equal; one it refuses is a 422
and writes nothing; a filter it accepts selects what the documented semantics select.

Runs once per backend (SQLite file, MariaDB, PostgreSQL) against a real Data Manager
process. Hypothesis generates documents and filters from every corner of JSON that the
engines disagree on (numbers past 64 bits or 2^53, NaN, NUL, lone surrogates, deep nesting,
keys with '$' or '.'), and a reference written here from docs/api.md decides which of them
must be accepted. Runs derandomized (the same examples every run) with a modest count.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.integration.test_documents import matches

pytestmark = pytest.mark.integration

MAX_NESTING = 24
INT64 = (-(2**63), 2**63 - 1)
MAX_FLOAT = 2.0**53
NESTING_RANGES = {"$gt", "$gte", "$lt", "$lte"}

PROPERTY_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)

# --- what docs/api.md says a stored value may be ---------------------------------------------


def storable_text(text: str) -> bool:
    return "\x00" not in text and not any(0xD800 <= ord(char) <= 0xDFFF for char in text)


def storable_scalar(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return INT64[0] <= value <= INT64[1]
    if isinstance(value, float):
        return math.isfinite(value) and abs(value) <= MAX_FLOAT
    return isinstance(value, str) and storable_text(value)


def storable(value: Any, depth: int = 0) -> bool:
    if isinstance(value, dict):
        return depth < MAX_NESTING and all(
            storable_text(key)
            and not key.startswith("$")
            and "." not in key
            and storable(item, depth + 1)
            for key, item in value.items()
        )
    if isinstance(value, list):
        return depth < MAX_NESTING and all(storable(item, depth + 1) for item in value)
    return storable_scalar(value)


def comparable(value: Any) -> bool:
    """Filter operands: stored-value rules, except that any finite float compares."""
    if isinstance(value, float):
        return math.isfinite(value)
    return storable_scalar(value)


def acceptable_filter(filter: dict[str, Any]) -> bool:
    for spec in filter.values():
        for op, operand in spec.items():
            operands = operand if op == "$in" else [operand]
            if not all(comparable(item) for item in operands):
                return False
            if op in NESTING_RANGES and (operand is None or isinstance(operand, bool)):
                return False
    return True


# --- generators ------------------------------------------------------------------------------

TROUBLE = ["\x00", "\ud800", "\udfff", "é", "\U0001f600", "\u200b", "A", "a", " ", "9"]
texts = st.lists(st.one_of(st.characters(), st.sampled_from(TROUBLE)), max_size=6).map("".join)
numbers = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.integers(min_value=-5, max_value=5),
    st.floats(),
    st.floats(min_value=-1e3, max_value=1e3),
    st.sampled_from([2.0**53, 2.0**53 + 2, -(2.0**53), 1e20, -0.0, 5e-324, 0.1, 2**63, -(2**63)]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
keys = st.one_of(st.sampled_from(["a", "b", "n", "_k", "k-1", "$x", "a.b", "", "\x00"]), texts)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(keys, children, max_size=3)
    ),
    max_leaves=8,
)


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"n": value}
    return value


bodies = st.one_of(
    st.dictionaries(st.sampled_from(["a", "b", "n"]), scalars, max_size=3),
    st.dictionaries(keys, values, max_size=4),
    st.integers(min_value=MAX_NESTING - 2, max_value=MAX_NESTING + 2).map(
        lambda d: {"a": nested(d)}
    ),
)
operators = st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in"])
filters = st.dictionaries(
    st.sampled_from(["a", "b", "n.n"]),
    st.dictionaries(operators, scalars, min_size=1, max_size=2).map(
        lambda spec: {op: [operand] if op == "$in" else operand for op, operand in spec.items()}
    ),
    max_size=2,
)


# --- the property ----------------------------------------------------------------------------


@pytest.fixture
def http(dm_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=dm_url, timeout=60.0) as client:
        yield client


def post(http: httpx.Client, url: str, body: Any) -> httpx.Response:
    # Python's encoder writes what a careless client sends: NaN, \ud800 escapes, big ints.
    text = json.dumps(body, allow_nan=True)
    return http.post(url, content=text.encode(), headers={"content-type": "application/json"})


@PROPERTY_SETTINGS
@given(bodies=st.lists(bodies, min_size=1, max_size=4), filter=filters)
def test_accepted_documents_read_back_equal_and_refused_ones_write_nothing(
    http: httpx.Client, bodies: list[dict[str, Any]], filter: dict[str, Any]
) -> None:
    name = f"prop_{uuid.uuid4().hex[:12]}"
    documents = [{"_id": f"d{index}", **body} for index, body in enumerate(bodies)]
    written = post(http, f"/collections/{name}/insert", {"documents": documents})
    if not all(storable(body) for body in bodies):
        event("documents refused")
        assert written.status_code == 422, written.text
        first_bad = next(index for index, body in enumerate(bodies) if not storable(body))
        assert written.json()["detail"][0]["loc"][:3] == ["body", "documents", first_bad]
        assert post(http, f"/collections/{name}/query", {}).status_code == 404
        return
    assert written.status_code == 200, written.text

    read = post(http, f"/collections/{name}/query", {"limit": 100})
    assert read.status_code == 200, read.text
    assert read.json()["documents"] == documents

    selected = post(http, f"/collections/{name}/query", {"filter": filter, "limit": 100})
    if not acceptable_filter(filter):
        event("documents read back; filter refused")
        assert selected.status_code == 422, selected.text
        return
    event("documents read back; filter matched the reference")
    assert selected.status_code == 200, selected.text
    got = [document["_id"] for document in selected.json()["documents"]]
    assert got == [document["_id"] for document in documents if matches(document, filter)]
