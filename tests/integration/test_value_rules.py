"""Every value the Data Manager accepts reads back; every value it cannot keep is a 422.

Runs once per backend (SQLite file, MariaDB, PostgreSQL) against a real Data Manager
process: the same request must get the same answer on all three. Bodies are sent as raw
JSON text, since some of them (lone surrogates, NUL) are what a careless client sends,
never what this repository's client would.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import pytest

from petrosa.datamanager.documents.values import MAX_DOCUMENT_BYTES

pytestmark = pytest.mark.integration

BEYOND_INT64 = 2**63
NUL = "a\u0000b"
LONE_SURROGATE = "\\ud800"
"""A JSON escape for a lone UTF-16 surrogate: valid JSON text, not valid Unicode."""


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"n": value}
    return value


async def post_text(http: httpx.AsyncClient, url: str, text: str) -> httpx.Response:
    return await http.post(url, content=text.encode(), headers={"content-type": "application/json"})


async def put_text(http: httpx.AsyncClient, url: str, text: str) -> httpx.Response:
    return await http.put(url, content=text.encode(), headers={"content-type": "application/json"})


def assert_422_at(response: httpx.Response, loc: list[Any]) -> None:
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc, response.text


# --- documents -----------------------------------------------------------------------------

BAD_DOCUMENTS: list[tuple[str, list[Any]]] = [
    ('{"x": 1e20}', ["x"]),
    ('{"x": -1.5e300}', ["x"]),
    ('{"x": 9007199254740994.0}', ["x"]),
    ('{"x": 9223372036854775808}', ["x"]),
    ('{"a": {"s": "' + LONE_SURROGATE + '"}}', ["a", "s"]),
    ('{"a": ["ok", "\\udfff tail"]}', ["a", 1]),
    ('{"k' + LONE_SURROGATE + '": 1}', ["k\\ud800"]),
    ('{"s": "a\\u0000b"}', ["s"]),
    ('{"k\\u0000": 1}', ["k\u0000"]),
    ('{"_id": "a\\u0000b"}', ["_id"]),
    ('{"_id": "' + LONE_SURROGATE + '"}', ["_id"]),
    (json.dumps(nested(25)), ["n"] * 24),
    (json.dumps({"big": "x" * MAX_DOCUMENT_BYTES}), []),
]


@pytest.mark.parametrize(("document", "where"), BAD_DOCUMENTS)
async def test_a_document_no_backend_can_keep_is_a_422_and_writes_nothing(
    raw: httpx.AsyncClient, document: str, where: list[Any]
) -> None:
    name = unique("badvalue")
    response = await post_text(
        raw, f"/collections/{name}/insert", '{"documents": [{"ok": 1}, ' + document + "]}"
    )
    assert_422_at(response, ["body", "documents", 1, *where])
    assert (await raw.post(f"/collections/{name}/query", json={})).status_code == 404


async def test_bad_values_in_filters_and_updates_are_422s(raw: httpx.AsyncClient) -> None:
    name = unique("badops")
    response = await raw.post(f"/collections/{name}/insert", json={"documents": [{"_id": "d"}]})
    assert response.status_code == 200, response.text
    cases: list[tuple[str, str, list[Any]]] = [
        ("query", '{"filter": {"s": "a\\u0000b"}}', ["body", "filter", "s"]),
        ("query", '{"filter": {"s": {"$in": ["' + LONE_SURROGATE + '"]}}}',
         ["body", "filter", "s", "$in", 0]),
        ("query", '{"filter": {"n": {"$gt": -9223372036854775809}}}',
         ["body", "filter", "n", "$gt"]),
        ("query", '{"filter": {"_id": "\\u0000"}}', ["body", "filter", "_id"]),
        ("delete", '{"filter": {"s": "\\u0000"}}', ["body", "filter", "s"]),
        ("update_one", '{"update": {"$set": {"x": 1e20}}}', ["body", "update", "$set", "x"]),
        ("update_one", '{"update": {"$set": {"x": {"y": "' + LONE_SURROGATE + '"}}}}',
         ["body", "update", "$set", "x", "y"]),
        ("update_one", '{"update": {"$set": {"x": "\\u0000"}}}', ["body", "update", "$set", "x"]),
        ("update_one", '{"update": {"$inc": {"x": 1e19}}}', ["body", "update", "$inc", "x"]),
        ("update_one", '{"filter": {"_id": "\\u0000"}, "update": {"$set": {"x": 1}}, '
         '"upsert": true}', ["body", "filter", "_id"]),
        ("update_one", '{"update": {"$set": {"a.b.c": ' + json.dumps(nested(22)) + "}}}",
         ["body", "update", "$set", "a.b.c", *["n"] * 21]),
    ]  # fmt: skip
    for action, text, loc in cases:
        assert_422_at(await post_text(raw, f"/collections/{name}/{action}", text), loc)
    listed = await raw.post(f"/collections/{name}/query", json={})
    assert listed.json()["documents"] == [{"_id": "d"}]


async def test_a_forged_document_cursor_is_a_422(raw: httpx.AsyncClient) -> None:
    name = unique("cursor")
    documents = [{"_id": f"d{i}", "n": i} for i in range(3)]
    await raw.post(f"/collections/{name}/insert", json={"documents": documents})
    first = await raw.post(f"/collections/{name}/query", json={"limit": 1, "sort": [["n", 1]]})
    token = first.json()["next_cursor"]
    payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    for forged in (
        {**payload, "s": BEYOND_INT64},
        {**payload, "k": [[2, "\u0000"]]},
    ):
        cursor = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
        response = await raw.post(
            f"/collections/{name}/query", json={"limit": 1, "sort": [["n", 1]], "cursor": cursor}
        )
        assert_422_at(response, ["body", "cursor"])


async def test_numbers_at_the_edges_of_the_range_read_back_equal(raw: httpx.AsyncClient) -> None:
    name = unique("edges")
    document = {
        "_id": "edges",
        "int_min": -(2**63),
        "int_max": 2**63 - 1,
        "largest_float": 2.0**53,
        "fraction": -(2.0**52) - 0.5,
        "tiny": 5e-324,
        "negative_zero": -0.0,
        "text": "\u00e9\U0001f600\u200b\ufeff",
        "nested": nested(23),
    }
    written = await raw.post(f"/collections/{name}/insert", json={"documents": [document]})
    assert written.status_code == 200, written.text
    read = await raw.post(f"/collections/{name}/query", json={})
    assert read.status_code == 200, read.text
    assert read.json()["documents"] == [document]


# --- configuration -------------------------------------------------------------------------


async def test_a_config_value_no_backend_can_keep_is_a_422_and_everything_stays_readable(
    raw: httpx.AsyncClient,
) -> None:
    key = unique("cfg")
    strategy = unique("strat")
    assert (await raw.put(f"/config/app/{key}", json={"value": 1, "changed_by": "t"})).is_success
    app_cases: list[tuple[str, list[Any]]] = [
        ('{"value": ' + json.dumps(nested(250)) + ', "changed_by": "t"}',
         ["body", "value", *["n"] * 24]),
        ('{"value": {"a": 1e20}, "changed_by": "t"}', ["body", "value", "a"]),
        ('{"value": [9223372036854775808], "changed_by": "t"}', ["body", "value", 0]),
        ('{"value": "a\\u0000b", "changed_by": "t"}', ["body", "value"]),
        # the wire contract's own check (its size in UTF-8) refuses lone surrogates first
        ('{"value": {"k' + LONE_SURROGATE + '": 1}, "changed_by": "t"}', ["body", "value"]),
        ('{"value": 2, "changed_by": "t\\u0000"}', ["body", "changed_by"]),
    ]  # fmt: skip
    for text, loc in app_cases:
        assert_422_at(await put_text(raw, f"/config/app/{key}", text), loc)
    strategy_cases: list[tuple[str, list[Any]]] = [
        ('{"parameters": {"p": ' + json.dumps(nested(250)) + '}, "changed_by": "t"}',
         ["body", "parameters", "p", *["n"] * 23]),
        ('{"parameters": {"p": "' + LONE_SURROGATE + '"}, "changed_by": "t"}',
         ["body", "parameters"]),
        ('{"parameters": {"p": 1e300}, "changed_by": "t"}', ["body", "parameters", "p"]),
    ]  # fmt: skip
    for text, loc in strategy_cases:
        assert_422_at(await put_text(raw, f"/config/strategies/{strategy}", text), loc)

    value = await raw.get(f"/config/app/{key}")
    assert (value.status_code, value.json()["value"], value.json()["version"]) == (200, 1, 1)
    assert (await raw.get(f"/config/strategies/{strategy}")).status_code == 404
    audit = await raw.get("/config/audit", params={"key": key})
    assert audit.status_code == 200, audit.text
    assert [entry["new_value"] for entry in audit.json()["entries"]] == [1]
    assert_422_at(await raw.get("/config/audit", params={"scope": "a\u0000"}), ["query", "scope"])


async def test_position_metadata_no_backend_can_keep_is_a_422(raw: httpx.AsyncClient) -> None:
    position = {
        "strategy_id": "s",
        "symbol": "BTCUSDT",
        "side": "long",
        "quantity": "1",
        "entry_price": "100",
        "opened_at": "2026-01-01T00:00:00Z",
    }
    for metadata, loc in [
        ('{"m": "\\u0000"}', ["body", "metadata", "m"]),
        ('{"m": 1e20}', ["body", "metadata", "m"]),
        # the wire contract's own check (its size in UTF-8) refuses lone surrogates first
        ('{"m": "' + LONE_SURROGATE + '"}', ["body", "metadata"]),
    ]:
        text = json.dumps(position)[:-1] + ', "metadata": ' + metadata + "}"
        position_id = unique("pos")
        assert_422_at(await put_text(raw, f"/positions/{position_id}", text), loc)
        assert (await raw.get(f"/positions/{position_id}")).status_code == 404
