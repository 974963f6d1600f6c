"""Generic document collections through the client against a real Data Manager process.

Runs once per backend (SQLite file, MariaDB, PostgreSQL): see the ``dm_url`` fixture. The
server is shared by the session, so every test uses collections of its own (uuid suffix).
Expected answers are computed here, independently, by a small reference evaluator of the
documented semantics (type-aware comparisons, null equals missing, rank-then-value sort).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from petrosa.client import ConflictError, DataManagerClient, NotFoundError, ValidationError

pytestmark = pytest.mark.integration

MISSING = object()


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


# --- the reference semantics ------------------------------------------------------------


def get(document: Mapping[str, Any], path: str) -> Any:
    node: Any = document
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def kind(value: Any) -> str:
    if value is MISSING or value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "container"


def equals(value: Any, operand: Any) -> bool:
    if operand is None:
        return kind(value) == "null"
    return kind(value) == kind(operand) and value == operand


RANGE = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}


def matches(document: Mapping[str, Any], filter: Mapping[str, Any]) -> bool:
    for path, spec in filter.items():
        value = get(document, path)
        operators = spec if isinstance(spec, dict) else {"$eq": spec}
        for op, operand in operators.items():
            if op == "$eq":
                ok = equals(value, operand)
            elif op == "$ne":
                ok = not equals(value, operand)
            elif op == "$in":
                ok = any(equals(value, item) for item in operand)
            else:
                ok = kind(value) == kind(operand) and RANGE[op](value, operand)
            if not ok:
                return False
    return True


RANK = {"null": 0, "number": 1, "string": 2, "bool": 3, "container": 4}


def sort_key(document: Mapping[str, Any], path: str) -> tuple[int, Any]:
    value = get(document, path)
    rank = RANK[kind(value)]
    return rank, (value if rank in (1, 2, 3) else 0)


def expected_order(documents: list[dict[str, Any]], sort: list[tuple[str, int]]) -> list[str]:
    """Ids in sort order; ties in insertion order, in the direction of the last key."""
    order = list(range(len(documents)))
    tie_descending = bool(sort) and sort[-1][1] == -1
    order.sort(key=lambda i: i, reverse=tie_descending)
    for path, direction in reversed(sort):
        order.sort(key=lambda i: sort_key(documents[i], path), reverse=direction == -1)
    return [documents[i]["_id"] for i in order]


# --- a dataset with every kind of value -----------------------------------------------------

VALUES: list[Any] = [
    1, 2, 2.5, -3, 10, 2.0, 0, 1e15, -0.5,  # numbers: 10 must sort after 2
    "10", "2", "abc", "Abc", "abc ", "été", "", "b",  # strings: case, trailing space, unicode
    True, False,
    None, MISSING,
    {"w": 5}, [1, 2],
]  # fmt: skip


def dataset() -> list[dict[str, Any]]:
    documents = []
    for index, value in enumerate(VALUES):
        document: dict[str, Any] = {"_id": f"d{index:02d}", "i": index, "g": index % 3}
        if value is not MISSING:
            document["v"] = value
        # Nested field: numbers, strings and gaps, reached with a dotted path.
        if index % 4 != 3:
            document["n"] = {"k": index if index % 2 else f"k{index % 5}", "flag": index % 2 == 0}
        documents.append(document)
    return documents


FILTER_CASES: list[dict[str, Any]] = [
    {},
    {"v": 2}, {"v": 2.0}, {"v": "2"}, {"v": True}, {"v": False}, {"v": None}, {"v": 0},
    {"v": "abc"}, {"v": "Abc"}, {"v": "abc "}, {"v": "été"}, {"v": ""},
    {"v": {"$eq": 2}}, {"v": {"$eq": None}}, {"v": {"$eq": "abc"}},
    {"v": {"$ne": 2}}, {"v": {"$ne": None}}, {"v": {"$ne": "abc"}}, {"v": {"$ne": True}},
    {"v": {"$gt": 2}}, {"v": {"$gte": 2}}, {"v": {"$lt": 2}}, {"v": {"$lte": 2}},
    {"v": {"$gt": -1, "$lt": 3}}, {"v": {"$gt": 1e14}}, {"v": {"$lt": -0.25}},
    {"v": {"$gt": "2"}}, {"v": {"$gte": "abc"}}, {"v": {"$lt": "abc"}}, {"v": {"$lte": "b"}},
    {"v": {"$gt": "abc"}}, {"v": {"$gt": ""}},
    {"v": {"$in": [2, "2", None]}}, {"v": {"$in": [True, "abc", 10]}}, {"v": {"$in": []}},
    {"v": {"$in": [False]}}, {"v": {"$in": [2.5, -3, "été"]}},
    {"missing_field": None}, {"missing_field": {"$ne": None}}, {"missing_field": 1},
    {"n.k": 5}, {"n.k": "k2"}, {"n.k": {"$gte": 10}}, {"n.k": None}, {"n.k": {"$ne": None}},
    {"n.flag": True}, {"n.flag": {"$ne": True}}, {"n": None},
    {"n.k": {"$lt": "k3"}, "g": 1}, {"g": {"$in": [0, 2]}, "v": {"$gt": 0}},
    {"_id": "d03"}, {"_id": {"$in": ["d01", "d05", "nope"]}}, {"_id": {"$gt": "d20"}},
    {"_id": {"$ne": "d00"}}, {"_id": 3}, {"_id": None},
]  # fmt: skip


async def seeded(client: DataManagerClient) -> tuple[str, list[dict[str, Any]]]:
    name = unique("ops")
    documents = dataset()
    result = await client.insert(name, documents)
    assert result.inserted == len(documents)
    return name, documents


async def ids_of(
    client: DataManagerClient, name: str, filter: Mapping[str, Any], **options: Any
) -> list[str]:
    page = await client.query(name, filter, limit=5_000, **options)
    assert page.next_cursor is None
    return [document["_id"] for document in page]


# --- tests --------------------------------------------------------------------------------


async def test_write_then_read(client: DataManagerClient) -> None:
    name = unique("roundtrip")
    documents: list[dict[str, Any]] = [
        {"_id": "a", "price": 1.5, "tags": ["x", "y"], "meta": {"nested": {"deep": None}}},
        {"text": 'ünïcødé "quoted" \\ back', "big": 9_007_199_254_740_993, "ok": False},
    ]
    result = await client.insert(name, documents)
    assert (result.inserted, result.duplicates) == (2, 0)
    assert result.ids[0] == "a"
    assert len(result.ids[1]) > 0

    one = await client.insert_one(name, {"_id": "c", "n": 3})
    assert (one.inserted, one.id) == (True, "c")

    stored = await client.query(name)
    assert [d["_id"] for d in stored] == ["a", result.ids[1], "c"]  # insertion order
    assert stored[0] == documents[0]
    assert stored[1] == {"_id": result.ids[1], **documents[1]}
    assert stored[2] == {"_id": "c", "n": 3}

    summary = {c.name: c for c in await client.list_collections()}[name]
    assert (summary.count, summary.unique_key) == (3, None)


async def test_every_filter_operator_matches_the_reference(client: DataManagerClient) -> None:
    name, documents = await seeded(client)
    wrong = []
    for filter in FILTER_CASES:
        expected = [d["_id"] for d in documents if matches(d, filter)]
        got = await ids_of(client, name, filter)
        if got != expected:
            wrong.append(f"{filter}: got {got}, expected {expected}")
    assert not wrong, "\n".join(wrong)


async def test_sort_orders_numbers_numerically_and_strings_by_code_point(
    client: DataManagerClient,
) -> None:
    name, documents = await seeded(client)
    numbers_only = {"v": {"$gte": -1e300}}
    strings_only = {"v": {"$gte": ""}}
    cases: list[tuple[dict[str, Any], list[tuple[str, int]]]] = [
        (numbers_only, [("v", 1)]),
        (numbers_only, [("v", -1)]),
        (strings_only, [("v", 1)]),
        (strings_only, [("v", -1)]),
        ({}, [("v", 1)]),
        ({}, [("v", -1)]),
        ({}, [("g", 1), ("v", -1)]),
        ({}, [("g", -1), ("n.k", 1)]),
        ({}, [("n.flag", 1), ("_id", -1)]),
        ({}, [("_id", -1)]),
    ]
    wrong = []
    for filter, sort in cases:
        selected = [d for d in documents if matches(d, filter)]
        expected = expected_order(selected, sort)
        got = await ids_of(client, name, filter, sort=sort)
        if got != expected:
            wrong.append(f"{filter} sort {sort}: got {got}, expected {expected}")
    assert not wrong, "\n".join(wrong)
    # The point of numeric sorting: 10 after 2, 1e15 last.
    ascending = await client.query(name, numbers_only, sort=[("v", 1)], projection=["v"])
    assert [d["v"] for d in ascending] == [-3, -0.5, 0, 1, 2, 2.0, 2.5, 10, 1e15]


async def test_projection_returns_only_the_named_fields(client: DataManagerClient) -> None:
    name, documents = await seeded(client)
    page = await client.query(name, {"i": {"$lte": 3}}, projection=["n.k", "v", "nope.x"])
    expected = []
    for d in documents[:4]:
        shown: dict[str, Any] = {"_id": d["_id"]}
        if "v" in d:
            shown["v"] = d["v"]
        if "n" in d:
            shown["n"] = {"k": d["n"]["k"]}
        expected.append(shown)
    assert list(page) == expected
    whole = await client.query(name, {"_id": "d21"}, projection=["v", "v.w", "_id"])
    assert list(whole) == [{"_id": "d21", "v": {"w": 5}}]


async def test_cursor_paging_yields_every_document_exactly_once(
    client: DataManagerClient,
) -> None:
    name = unique("paging")
    documents: list[dict[str, Any]] = [
        {"_id": f"p{i:03d}", "bucket": i % 5, "score": (i * 37) % 11, "label": f"l{i % 7}"}
        for i in range(230)
    ]
    await client.insert(name, documents)
    sorts: list[list[tuple[str, int]]] = [
        [],
        [("bucket", 1)],
        [("bucket", -1), ("score", 1)],
        [("label", -1), ("score", -1)],
    ]
    for sort in sorts:
        seen = [d["_id"] async for d in client.iter_query(name, sort=sort, page_size=7)]
        assert seen == expected_order(documents, sort), sort

    # Resuming after every kind of value: missing, null, floats, strings, booleans, objects.
    mixed, mixed_documents = await seeded(client)
    for sort in [[("v", 1)], [("v", -1)], [("n.k", 1), ("v", -1)], [("n.flag", -1), ("v", 1)]]:
        seen = [d["_id"] async for d in client.iter_query(mixed, sort=sort, page_size=2)]
        assert seen == expected_order(mixed_documents, sort), sort

    # Stable under inserts: documents added while paging never make an old one repeat or vanish.
    sort = [("bucket", 1), ("score", -1)]
    first = await client.query(name, sort=sort, limit=50)
    collected: list[str] = [d["_id"] for d in first]
    cursor = first.next_cursor
    extra = 0
    while cursor is not None:
        await client.insert(name, [{"bucket": extra % 5, "score": extra % 11, "new": True}])
        extra += 1
        page = await client.query(name, sort=sort, limit=50, cursor=cursor)
        collected += [d["_id"] for d in page if not d.get("new")]
        cursor = page.next_cursor
    assert sorted(collected) == sorted(d["_id"] for d in documents)
    assert len(collected) == len(set(collected))

    with pytest.raises(ValidationError) as raised:
        await client.query(name, sort=[("score", 1)], cursor=first.next_cursor)
    assert raised.value.errors[0].loc == ("body", "cursor")


async def test_update_operators(client: DataManagerClient) -> None:
    name = unique("updates")
    await client.insert(
        name,
        [
            {"_id": "u1", "sym": "BTC", "qty": 1, "meta": {"side": "long"}},
            {"_id": "u2", "sym": "ETH", "qty": 2.5, "label": "x"},
        ],
    )

    result = await client.update_one(
        name, {"sym": "BTC"}, {"$set": {"meta.side": "short", "meta.sl": 9.5}, "$inc": {"qty": 2}}
    )
    assert (result.matched, result.modified, result.upserted_id) == (1, 1, None)
    [u1] = await client.query(name, {"_id": "u1"})
    assert u1 == {"_id": "u1", "sym": "BTC", "qty": 3, "meta": {"side": "short", "sl": 9.5}}

    # Already equal: nothing modified (and nothing written).
    same = await client.update_one(name, {"_id": "u2"}, {"$set": {"label": "x", "qty": 2.5}})
    assert (same.matched, same.modified) == (1, 0)
    assert (await client.update_one(name, {"_id": "u2"}, {"$inc": {"qty": 0}})).modified == 0

    float_inc = await client.update_one(name, {"_id": "u2"}, {"$inc": {"qty": -0.5, "n": 4}})
    assert float_inc.modified == 1
    [u2] = await client.query(name, {"_id": "u2"})
    assert (u2["qty"], u2["n"]) == (2.0, 4)

    none = await client.update_one(name, {"sym": "SOL"}, {"$set": {"qty": 1}})
    assert (none.matched, none.modified, none.upserted_id) == (0, 0, None)

    upserted = await client.update_one(
        name,
        {"sym": "SOL", "venue.name": "binance", "qty": {"$gt": 100}},
        {"$set": {"label": "new"}, "$inc": {"hits": 1}},
        upsert=True,
    )
    assert (upserted.matched, upserted.modified) == (0, 0)
    assert upserted.upserted_id is not None
    [sol] = await client.query(name, {"_id": upserted.upserted_id})
    assert sol == {
        "_id": upserted.upserted_id,
        "sym": "SOL",
        "venue": {"name": "binance"},
        "label": "new",
        "hits": 1,
    }
    again = await client.update_one(name, {"sym": "SOL"}, {"$inc": {"hits": 1}}, upsert=True)
    assert (again.matched, again.modified, again.upserted_id) == (1, 1, None)

    with_id = await client.update_one(name, {"_id": "u9"}, {"$set": {"a": 1}}, upsert=True)
    assert with_id.upserted_id == "u9"

    with pytest.raises(ValidationError) as raised:
        await client.update_one(name, {"_id": "u1"}, {"$inc": {"sym": 1}})
    assert raised.value.errors[0].loc == ("body", "update", "$inc", "sym")
    with pytest.raises(ValidationError) as raised:
        await client.update_one(name, {"_id": "u1"}, {"$set": {"qty.deep": 1}})
    assert raised.value.errors[0].loc == ("body", "update", "$set", "qty.deep")
    with pytest.raises(ValidationError) as raised:
        await client.update_one(name, {"_id": "u1"}, {"$unset": {"qty": 1}})
    assert raised.value.errors[0].loc == ("body", "update", "$unset")
    with pytest.raises(ValidationError) as raised:
        await client.update_one(name, {"_id": "u1"}, {"$set": {"_id": "other"}})
    assert raised.value.errors[0].loc == ("body", "update", "$set", "_id")
    [unchanged] = await client.query(name, {"_id": "u1"})
    assert unchanged == u1

    fresh = unique("upsert_creates")
    created = await client.update_one(fresh, {"k": 1}, {"$set": {"v": 2}}, upsert=True)
    assert created.upserted_id is not None
    assert list(await client.query(fresh, projection=["k", "v"])) == [
        {"_id": created.upserted_id, "k": 1, "v": 2}
    ]


async def test_delete_one_and_many(client: DataManagerClient) -> None:
    name = unique("deletes")
    await client.insert(name, [{"_id": f"x{i}", "even": i % 2 == 0} for i in range(10)])
    assert await client.delete(name, {"even": True}) == 1
    assert await ids_of(client, name, {"even": True}) == ["x2", "x4", "x6", "x8"]
    assert await client.delete(name, {"even": True}, many=True) == 4
    assert await client.delete(name, {"even": True}, many=True) == 0
    assert await client.delete(name, {"_id": "x1"}) == 1
    assert await ids_of(client, name, {}) == ["x3", "x5", "x7", "x9"]
    assert await client.delete(name, {}, many=True) == 4
    assert await ids_of(client, name, {}) == []


async def test_unique_key_makes_a_repeated_batch_a_no_op(client: DataManagerClient) -> None:
    name = unique("uniq")
    declared = await client.declare_collection(name, ["sym", "t"])
    assert (declared.created, declared.unique_key) == (True, ["sym", "t"])
    redeclared = await client.declare_collection(name, ["sym", "t"])
    assert redeclared.created is False
    with pytest.raises(ConflictError):
        await client.declare_collection(name, ["sym"])
    with pytest.raises(ConflictError):
        await client.declare_collection(name)

    batch = [{"sym": "BTC", "t": t, "px": 100 + t} for t in range(50)]
    batch.append({"sym": "BTC", "t": 3, "px": -1})  # repeats a key within the batch
    batch.append({"sym": "BTC", "t": 3.0, "px": -2})  # 3.0 == 3: the same key
    first = await client.insert(name, batch)
    assert (first.inserted, first.duplicates) == (50, 2)
    second = await client.insert(name, batch)  # new generated _ids, same keys
    assert (second.inserted, second.duplicates, second.ids) == (0, 52, [])
    assert len(await ids_of(client, name, {})) == 50
    [t3] = await client.query(name, {"t": 3})
    assert t3["px"] == 103

    repeated_one = await client.insert_one(name, {"sym": "BTC", "t": 7})
    assert repeated_one.inserted is False

    with pytest.raises(ConflictError):
        await client.update_one(name, {"t": 1}, {"$set": {"t": 2}})
    with pytest.raises(ConflictError):
        await client.update_one(name, {"t": 999}, {"$set": {"sym": "BTC", "t": 2}}, upsert=True)
    moved = await client.update_one(name, {"t": 1}, {"$set": {"t": 1000}})
    assert moved.modified == 1
    assert (await client.insert_one(name, {"sym": "BTC", "t": 1})).inserted is True

    with pytest.raises(ValidationError) as raised:
        await client.insert(name, [{"sym": "ETH", "t": 1}, {"sym": "ETH"}])
    assert raised.value.errors[0].loc == ("body", "documents", 1)
    assert await ids_of(client, name, {"sym": "ETH"}) == []


async def test_concurrent_writers_never_duplicate_a_unique_key(dm_url: str) -> None:
    name = unique("race")
    writers = 10
    setup = DataManagerClient(dm_url)
    try:
        await setup.declare_collection(name, ["key"])
    finally:
        await setup.close()

    async def writer(index: int) -> int:
        # Overlapping ranges: writer i covers keys 15*i .. 15*i+44, shuffled per writer.
        keys = list(range(15 * index, 15 * index + 45))
        keys = keys[index % 7 :] + keys[: index % 7]
        async with DataManagerClient(dm_url) as dm:
            inserted = 0
            for start in range(0, len(keys), 15):
                chunk = [{"key": k, "by": index} for k in keys[start : start + 15]]
                inserted += (await dm.insert(name, chunk)).inserted
            return inserted

    counts = await asyncio.gather(*(writer(i) for i in range(writers)))
    expected_keys = set(range(15 * (writers - 1) + 45))
    async with DataManagerClient(dm_url) as dm:
        stored = [d["key"] async for d in dm.iter_query(name, projection=["key"])]
    assert sorted(stored) == sorted(expected_keys)  # none missing, none twice
    assert sum(counts) == len(expected_keys)  # inserted counts are truthful too


async def test_bad_input_is_a_422_naming_the_field(
    client: DataManagerClient, raw: httpx.AsyncClient
) -> None:
    name, _ = await seeded(client)
    cases: list[tuple[str, Any, tuple[Any, ...]]] = [
        ("query", {"filter": {"price": {"$regex": "x"}}}, ("body", "filter", "price", "$regex")),
        ("query", {"filter": {"$or": []}}, ("body", "filter", "$or")),
        ("query", {"filter": {"a..b": 1}}, ("body", "filter", "a..b")),
        ("query", {"filter": {"a b": 1}}, ("body", "filter", "a b")),
        ("query", {"filter": {"v": {"w": 5}}}, ("body", "filter", "v", "w")),
        ("query", {"filter": {"v": [1]}}, ("body", "filter", "v")),
        ("query", {"filter": {"v": {"$in": 3}}}, ("body", "filter", "v", "$in")),
        ("query", {"filter": {"v": {"$gt": None}}}, ("body", "filter", "v", "$gt")),
        ("query", {"limit": 5_001}, ("body", "limit")),
        ("query", {"limit": 0}, ("body", "limit")),
        ("query", {"sort": [["v", 2]]}, ("body", "sort", 0, 1)),
        ("query", {"sort": [["v.", 1]]}, ("body", "sort", 0, 0)),
        ("query", {"projection": ["ok", "$bad"]}, ("body", "projection", 1)),
        ("query", {"cursor": "not-a-cursor"}, ("body", "cursor")),
        ("insert", {"documents": [{"_id": 5}]}, ("body", "documents", 0, "_id")),
        ("insert", {"documents": [{"a": {"$b": 1}}]}, ("body", "documents", 0, "a", "$b")),
        ("insert", {"documents": [{}, {"a.b": 1}]}, ("body", "documents", 1, "a.b")),
        ("insert", {"documents": [{"n": 2**64}]}, ("body", "documents", 0, "n")),
        ("insert", {"documents": []}, ("body", "documents")),
        ("update_one", {"update": {}}, ("body", "update")),
        ("update_one", {"update": {"$inc": {"a": "1"}}}, ("body", "update", "$inc", "a")),
        ("delete", {"filter": {"v": {"$exists": True}}}, ("body", "filter", "v", "$exists")),
    ]  # fmt: skip
    wrong = []
    for action, body, loc in cases:
        response = await raw.post(f"/collections/{name}/{action}", json=body)
        got = response.json().get("detail") if response.status_code == 422 else None
        if response.status_code != 422 or not got or tuple(got[0]["loc"]) != loc:
            wrong.append(f"{action} {body}: {response.status_code} {response.text[:200]}")
    assert not wrong, "\n".join(wrong)

    # Non-finite numbers: JSON has none, but Python's parser accepts NaN and Infinity.
    for action, text, where in [
        ("insert", '{"documents": [{"x": 1}, {"x": NaN}]}', ["body", "documents", 1, "x"]),
        ("query", '{"filter": {"v": {"$gt": Infinity}}}', ["body", "filter", "v", "$gt"]),
        ("update_one", '{"update": {"$set": {"a": -Infinity}}}', ["body", "update", "$set", "a"]),
    ]:
        response = await raw.post(
            f"/collections/{name}/{action}",
            content=text,
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == where

    for bad_name in ("Upper", "1st", "with-dash", "x" * 64):
        response = await raw.post(f"/collections/{bad_name}/query", json={})
        assert response.status_code == 422, bad_name
        assert response.json()["detail"][0]["loc"] == ["path", "name"]
    for key, where in [
        (["_id"], ["body", "unique_key", 0]),
        (["a", "a"], ["body", "unique_key", 1]),
        ([], ["body", "unique_key"]),
    ]:
        response = await raw.put(f"/collections/{unique('decl')}", json={"unique_key": key})
        assert response.status_code == 422, key
        assert response.json()["detail"][0]["loc"] == where
    response = await raw.put(f"/collections/{unique('decl')}")  # no body: no unique key
    assert (response.status_code, response.json()["created"]) == (200, True)


async def test_unknown_collection_is_404(client: DataManagerClient) -> None:
    name = unique("absent")
    with pytest.raises(NotFoundError):
        await client.query(name)
    with pytest.raises(NotFoundError):
        await client.update_one(name, {"a": 1}, {"$set": {"a": 2}})
    with pytest.raises(NotFoundError):
        await client.delete(name, {}, many=True)
    assert name not in {c.name for c in await client.list_collections()}


async def test_a_rejected_batch_writes_nothing(client: DataManagerClient) -> None:
    fresh = unique("rejected")
    with pytest.raises(ValidationError):
        await client.insert(fresh, [{"ok": 1}, {"bad": {"$key": 1}}])
    with pytest.raises(NotFoundError):  # not even the collection was created
        await client.query(fresh)

    name = unique("kept")
    await client.declare_collection(name, ["k"])
    await client.insert(name, [{"k": 1}])
    with pytest.raises(ValidationError):
        await client.insert(name, [{"k": 2}, {"k": 3}, {"no_key": True}])
    assert [d["k"] for d in await client.query(name)] == [1]


async def test_a_20000_document_collection_is_queried_in_sql(client: DataManagerClient) -> None:
    name = unique("big")
    total = 20_000
    documents: list[dict[str, Any]] = [
        {"_id": f"b{i:05d}", "price": (i * 7919) % 10_007 / 10, "sym": f"S{i % 50}", "i": i}
        for i in range(total)
    ]
    result = await client.insert(name, documents)  # four requests of 5,000
    assert result.inserted == total

    filter = {"sym": {"$in": ["S3", "S7"]}, "price": {"$gte": 500}}
    page = await client.query(name, filter, sort=[("price", -1), ("i", 1)], limit=25)
    selected = [d for d in documents if matches(d, filter)]
    assert [d["_id"] for d in page] == expected_order(selected, [("price", -1), ("i", 1)])[:25]
    assert page.next_cursor is not None
    summary = {c.name: c for c in await client.list_collections()}[name]
    assert summary.count == total
