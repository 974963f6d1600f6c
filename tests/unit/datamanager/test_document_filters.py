"""Generic documents, pure logic: filters, paths, updates, values, cursors, and the SQL
each engine gets (compiled, never executed: the integration tests run it for real)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Dialect

from petrosa.datamanager.documents.filters import (
    MAX_IN_VALUES,
    Condition,
    Op,
    equality_fields,
    parse_filter,
)
from petrosa.datamanager.documents.paths import FieldPath, parse_path
from petrosa.datamanager.documents.query import Position, Query, parse_query
from petrosa.datamanager.documents.translate import DocumentSql
from petrosa.datamanager.documents.updates import apply_update, parse_update, upsert_body
from petrosa.datamanager.documents.values import (
    MISSING,
    new_document,
    sort_position,
    unique_hash,
    value_at,
)
from petrosa.datamanager.errors import InvalidInput
from petrosa.datamanager.json_rules import MAX_NESTING
from petrosa.datamanager.storage.documents_schema import documents

FILTER = ("body", "filter")
UPDATE = ("body", "update")


def path(text: str) -> FieldPath:
    return FieldPath(tuple(text.split(".")))


def rejected(call: Any, *args: Any, **kwargs: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as raised:
        call(*args, **kwargs)
    return raised.value


# --- filters ------------------------------------------------------------------------------


def test_plain_values_are_equality_and_fields_are_anded() -> None:
    conditions = parse_filter({"sym": "BTC", "a.b": 2, "flag": True, "gone": None}, FILTER)
    assert conditions == (
        Condition(path("sym"), Op.EQ, "BTC"),
        Condition(path("a.b"), Op.EQ, 2),
        Condition(path("flag"), Op.EQ, True),
        Condition(path("gone"), Op.EQ, None),
    )


def test_every_operator_parses() -> None:
    spec = {"$eq": 1, "$ne": "x", "$gt": 1.5, "$gte": "a", "$lt": -2, "$lte": 0, "$in": [1, None]}
    conditions = parse_filter({"price": spec}, FILTER)
    assert [(c.op, c.operand) for c in conditions] == [
        (Op.EQ, 1),
        (Op.NE, "x"),
        (Op.GT, 1.5),
        (Op.GTE, "a"),
        (Op.LT, -2),
        (Op.LTE, 0),
        (Op.IN, (1, None)),
    ]
    assert parse_filter({}, FILTER) == ()


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        ({"price": {"$regex": "x"}}, ["body", "filter", "price", "$regex"]),
        ({"price": {"$gt": 1, "$exists": True}}, ["body", "filter", "price", "$exists"]),
        ({"$or": [{"a": 1}]}, ["body", "filter", "$or"]),
        ({"a": {"b": 1}}, ["body", "filter", "a", "b"]),
        ({"a": {}}, ["body", "filter", "a"]),
        ({"a": [1, 2]}, ["body", "filter", "a"]),
        ({"a": {"$eq": {"b": 1}}}, ["body", "filter", "a", "$eq"]),
        ({"a": {"$in": "x"}}, ["body", "filter", "a", "$in"]),
        ({"a": {"$in": [1, [2]]}}, ["body", "filter", "a", "$in", 1]),
        ({"a": {"$gt": None}}, ["body", "filter", "a", "$gt"]),
        ({"a": {"$lte": True}}, ["body", "filter", "a", "$lte"]),
        ({"a": math.nan}, ["body", "filter", "a"]),
        ({"a": {"$lt": math.inf}}, ["body", "filter", "a", "$lt"]),
        ({"a": {"$in": [1, -math.inf]}}, ["body", "filter", "a", "$in", 1]),
        ({"a": 2**63}, ["body", "filter", "a"]),
        ({"a..b": 1}, ["body", "filter", "a..b"]),
        ({"": 1}, ["body", "filter", ""]),
        ({"1st": 1}, ["body", "filter", "1st"]),
        ({"a.0": 1}, ["body", "filter", "a.0"]),
        ({"a b": 1}, ["body", "filter", "a b"]),
        ({'a"b': 1}, ["body", "filter", 'a"b']),
        ({"_id.x": "1"}, ["body", "filter", "_id.x"]),
        ({".".join(["a"] * (MAX_NESTING + 1)): 1}, ["body", "filter", ".".join(["a"] * 25)]),
    ],
)
def test_bad_filters_name_the_field_and_operator(raw: dict[str, Any], loc: list[Any]) -> None:
    assert rejected(parse_filter, raw, FILTER).loc == loc


def test_limits_on_filter_size() -> None:
    assert parse_filter({"a": {"$in": list(range(MAX_IN_VALUES))}}, FILTER)
    too_many = {"a": {"$in": list(range(MAX_IN_VALUES + 1))}}
    assert rejected(parse_filter, too_many, FILTER).loc == ["body", "filter", "a", "$in"]
    wide = {f"f{i}": i for i in range(65)}
    assert rejected(parse_filter, wide, FILTER).loc == ["body", "filter"]


def test_equality_fields_are_what_an_upsert_copies() -> None:
    conditions = parse_filter(
        {"a": 1, "b": {"$eq": "x", "$gt": "a"}, "c": {"$in": [1]}, "d": {"$ne": 2}}, FILTER
    )
    assert equality_fields(conditions) == [(path("a"), 1), (path("b"), "x")]


# --- paths and values ---------------------------------------------------------------------


def test_paths() -> None:
    assert parse_path("a.b_c.d-e", ["x"]).parts == ("a", "b_c", "d-e")
    assert parse_path("_id", ["x"]).is_id
    assert not parse_path("a._id", ["x"]).is_id
    assert path("a.b").startswith(path("a"))
    assert not path("ab").startswith(path("a"))
    assert rejected(parse_path, 5, ["x", 0]).loc == ["x", 0]


def test_new_document_takes_or_generates_the_id() -> None:
    given = new_document({"_id": "abc", "x": 1}, ["body", "document"])
    assert (given.doc_id, given.body) == ("abc", {"x": 1})
    generated = new_document({"x": 1}, ["body", "document"])
    assert len(generated.doc_id) == 32
    assert generated.body == {"x": 1}
    assert new_document({"_id": None}, ["d"]).doc_id != new_document({}, ["d"]).doc_id


@pytest.mark.parametrize(
    ("document", "loc"),
    [
        ({"_id": 5}, ["d", "_id"]),
        ({"_id": ""}, ["d", "_id"]),
        ({"_id": "x" * 129}, ["d", "_id"]),
        ({"a": {"$b": 1}}, ["d", "a", "$b"]),
        ({"a": [{"b.c": 1}]}, ["d", "a", 0, "b.c"]),
        ({"a": [1, math.nan]}, ["d", "a", 1]),
        ({"a": {"b": -(2**63) - 1}}, ["d", "a", "b"]),
    ],
)
def test_bad_documents_name_the_field(document: dict[str, Any], loc: list[Any]) -> None:
    assert rejected(new_document, document, ["d"]).loc == loc


def test_documents_may_nest_only_so_deep() -> None:
    def nested(depth: int) -> dict[str, Any]:
        document: dict[str, Any] = {"leaf": 1}
        for _ in range(depth - 1):
            document = {"a": document}
        return document

    assert new_document(nested(MAX_NESTING), ["d"])
    assert rejected(new_document, nested(MAX_NESTING + 1), ["d"]).loc[0] == "d"


def test_unique_hash_treats_equal_numbers_as_one_key_and_needs_every_field() -> None:
    key = (path("sym"), path("t.ms"))
    one = unique_hash({"sym": "BTC", "t": {"ms": 3}}, key, ["d"])
    assert one == unique_hash({"t": {"ms": 3.0}, "sym": "BTC", "other": 1}, key, ["d"])
    assert one != unique_hash({"sym": "BTC", "t": {"ms": "3"}}, key, ["d"])
    assert one != unique_hash({"sym": "btc", "t": {"ms": 3}}, key, ["d"])
    assert unique_hash({"sym": None, "t": {"ms": 1}}, key, ["d"])
    assert rejected(unique_hash, {"sym": "BTC"}, key, ["body", "documents", 4]).loc == [
        "body",
        "documents",
        4,
    ]


def test_sort_positions_rank_types_like_the_sql() -> None:
    assert sort_position(MISSING) == sort_position(None) == (0, None)
    assert sort_position(2.5) == (1, 2.5)
    assert sort_position("a") == (2, "a")
    assert sort_position(True) == (3, 1)
    assert sort_position(False) == (3, 0)
    assert sort_position({"a": 1}) == sort_position([1]) == (4, None)
    assert value_at({"a": {"b": None}}, path("a.b")) is None
    assert value_at({"a": 1}, path("a.b")) is MISSING


# --- updates ------------------------------------------------------------------------------


def test_set_and_inc_apply_without_touching_the_input() -> None:
    body = {"qty": 1, "meta": {"side": "long"}, "tags": ["a"]}
    update = parse_update(
        {"$set": {"meta.sl": 9.5, "new.deep.x": True, "tags": ["b"]}, "$inc": {"qty": 2, "n": -1}},
        UPDATE,
    )
    assert apply_update(body, update, UPDATE) == {
        "qty": 3,
        "meta": {"side": "long", "sl": 9.5},
        "tags": ["b"],
        "new": {"deep": {"x": True}},
        "n": -1,
    }
    assert body == {"qty": 1, "meta": {"side": "long"}, "tags": ["a"]}
    float_sum = apply_update({"q": 0.1}, parse_update({"$inc": {"q": 0.2}}, UPDATE), UPDATE)
    assert float_sum == {"q": 0.1 + 0.2}


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        ({}, ["body", "update"]),
        ({"$set": {}}, ["body", "update"]),
        ({"$unset": {"a": 1}}, ["body", "update", "$unset"]),
        ({"a": 1}, ["body", "update", "a"]),
        ({"$set": 5}, ["body", "update", "$set"]),
        ({"$set": {"_id": "x"}}, ["body", "update", "$set", "_id"]),
        ({"$set": {"a..b": 1}}, ["body", "update", "$set", "a..b"]),
        ({"$set": {"a": {"$x": 1}}}, ["body", "update", "$set", "a", "$x"]),
        ({"$set": {"a": math.nan}}, ["body", "update", "$set", "a"]),
        ({"$inc": {"a": "1"}}, ["body", "update", "$inc", "a"]),
        ({"$inc": {"a": True}}, ["body", "update", "$inc", "a"]),
        ({"$inc": {"a": math.inf}}, ["body", "update", "$inc", "a"]),
        ({"$set": {"a": 1}, "$inc": {"a": 1}}, ["body", "update", "$inc", "a"]),
        ({"$set": {"a": 1, "a.b": 2}}, ["body", "update", "$set", "a.b"]),
        ({"$set": {"a.b": 1}, "$inc": {"a": 2}}, ["body", "update", "$inc", "a"]),
    ],
)
def test_bad_updates_name_the_operator_and_field(raw: dict[str, Any], loc: list[Any]) -> None:
    assert rejected(parse_update, raw, UPDATE).loc == loc


@pytest.mark.parametrize(
    ("body", "raw", "loc"),
    [
        ({"a": "x"}, {"$inc": {"a": 1}}, ["body", "update", "$inc", "a"]),
        ({"a": True}, {"$inc": {"a": 1}}, ["body", "update", "$inc", "a"]),
        ({"a": None}, {"$inc": {"a": 1}}, ["body", "update", "$inc", "a"]),
        ({"a": 2**63 - 1}, {"$inc": {"a": 1}}, ["body", "update", "$inc", "a"]),
        ({"a": 9e15}, {"$inc": {"a": 9e15}}, ["body", "update", "$inc", "a"]),
        ({"a": 5}, {"$set": {"a.b": 1}}, ["body", "update", "$set", "a.b"]),
        ({"a": [1]}, {"$inc": {"a.b": 1}}, ["body", "update", "$inc", "a.b"]),
    ],
)
def test_updates_that_do_not_fit_the_document_are_rejected(
    body: dict[str, Any], raw: dict[str, Any], loc: list[Any]
) -> None:
    assert rejected(apply_update, body, parse_update(raw, UPDATE), UPDATE).loc == loc


def test_an_upsert_builds_from_filter_equalities_then_the_update() -> None:
    conditions = parse_filter(
        {"_id": "p1", "sym": "BTC", "venue.name": "x", "qty": {"$gt": 5}, "n": 1}, FILTER
    )
    update = parse_update({"$set": {"label": "new"}, "$inc": {"n": 2, "hits": 1}}, UPDATE)
    doc_id, body = upsert_body(
        equality_fields(conditions), update, filter_loc=FILTER, update_loc=UPDATE
    )
    assert doc_id == "p1"
    assert body == {"sym": "BTC", "venue": {"name": "x"}, "n": 3, "label": "new", "hits": 1}

    clash = parse_filter({"a": 1, "a.b": 2}, FILTER)
    with pytest.raises(InvalidInput) as raised:
        upsert_body(equality_fields(clash), update, filter_loc=FILTER, update_loc=UPDATE)
    assert raised.value.loc == ["body", "filter", "a.b"]
    number_id = parse_filter({"_id": 7}, FILTER)
    with pytest.raises(InvalidInput) as raised:
        upsert_body(equality_fields(number_id), update, filter_loc=FILTER, update_loc=UPDATE)
    assert raised.value.loc == ["body", "filter", "_id"]


# --- queries and cursors --------------------------------------------------------------------


def query(collection: str = "trades", **changes: Any) -> Query:
    options: dict[str, Any] = {
        "filter": {"sym": "BTC"},
        "sort": [("price", -1)],
        "limit": 10,
        "projection": None,
        "cursor": None,
    }
    return parse_query(collection, **{**options, **changes})


def test_cursor_round_trip_and_binding_to_its_query() -> None:
    first = query()
    token = first.cursor_after(Position(((1, 7.5),), seq=42))
    assert "=" not in token
    assert query(cursor=token).after == Position(((1, 7.5),), seq=42)
    for other in (
        {"filter": {"sym": "ETH"}},
        {"sort": [("price", 1)]},
        {"sort": None},
    ):
        assert rejected(query, cursor=token, **other).loc == ["body", "cursor"]
    assert rejected(query, "other_collection", cursor=token).loc == ["body", "cursor"]
    for junk in ("", "!!!", "bm90LWpzb24", token[:-3]):
        assert rejected(query, cursor=junk).loc == ["body", "cursor"]


def test_sort_and_projection_validation() -> None:
    assert rejected(query, sort=[("a", 1), ("a", -1)]).loc == ["body", "sort", 1, 0]
    assert rejected(query, sort=[(f"f{i}", 1) for i in range(9)]).loc == ["body", "sort"]
    assert rejected(query, projection=["a", "b.", "c"]).loc == ["body", "projection", 1]
    assert rejected(query, projection=["a", "a"]).loc == ["body", "projection", 1]
    projected = query(projection=["a.b", "a", "c.d", "_id"]).projection
    assert projected is not None
    assert [str(p) for p in projected] == ["a", "c.d", "_id"]


# --- the SQL each engine gets ---------------------------------------------------------------

DIALECTS: dict[str, Dialect] = {
    "sqlite": sqlite.dialect(),
    "mysql": mysql.dialect(),
    "postgresql": postgresql.dialect(),  # type: ignore[no-untyped-call]
}


def page_sql(dialect_name: str, after: Position | None = None, **changes: Any) -> str:
    parsed = dataclasses.replace(query(**changes), after=after)
    statement = DocumentSql(documents, dialect_name).page("trades", parsed).statement
    return str(statement.compile(dialect=DIALECTS[dialect_name]))


@pytest.mark.parametrize(
    ("dialect_name", "fragments"),
    [
        (
            "sqlite",
            [
                "json_type(documents.body, ?) IN ('integer', 'real')) THEN"
                " json_extract(documents.body, ?) END > ?",
                "json_type(documents.body, ?) IN ('text')) THEN json_extract(documents.body, ?)",
                "documents.body -> ?",
            ],
        ),
        (
            "mysql",
            [
                "json_type(json_extract(documents.body, %s)) IN ('INTEGER', 'DOUBLE',"
                " 'DECIMAL', 'UNSIGNED INTEGER')) THEN"
                " CAST(json_extract(documents.body, %s) AS DOUBLE) END > %s",
                "THEN CAST(json_unquote(json_extract(documents.body, %s)) AS BINARY) END"
                " = CAST(%s AS BINARY)",
            ],
        ),
        (
            "postgresql",
            [
                "jsonb_typeof(documents.body #> %(param_2)s::TEXT[]) IN ('number')) THEN"
                " CAST(documents.body #>> %(param_3)s::TEXT[] AS NUMERIC) END > ",
                ') COLLATE "C" END = ',
                "CAST(documents.body #> %(param_1)s::TEXT[] AS TEXT)",
            ],
        ),
    ],
)
def test_filters_become_typed_json_predicates_in_sql(
    dialect_name: str, fragments: list[str]
) -> None:
    sql = page_sql(dialect_name, filter={"price": {"$gt": 5}, "sym": "BTC"})
    for fragment in fragments:
        assert fragment in sql, f"{fragment!r} not in\n{sql}"


@pytest.mark.parametrize("dialect_name", list(DIALECTS))
def test_a_page_is_selected_limited_and_ordered_by_the_database(dialect_name: str) -> None:
    sql = page_sql(dialect_name)
    assert "WHERE documents.collection = " in sql
    assert "LIMIT " in sql
    order_by = sql.split("ORDER BY", 1)[1]
    assert order_by.count(" DESC") == 5  # rank, number, string, boolean, then seq
    assert "documents.seq DESC" in order_by


@pytest.mark.parametrize("dialect_name", list(DIALECTS))
def test_the_cursor_is_a_keyset_condition(dialect_name: str) -> None:
    sql = page_sql(dialect_name, after=Position(((1, 7.5),), seq=42))
    where = sql.split("WHERE", 1)[1].split("ORDER BY", 1)[0]
    assert "documents.seq < " in where


@pytest.mark.parametrize("dialect_name", list(DIALECTS))
def test_unsorted_pages_follow_the_insertion_sequence(dialect_name: str) -> None:
    sql = page_sql(dialect_name, sort=None, after=Position((), seq=42))
    assert sql.rstrip().split("ORDER BY", 1)[1].strip().startswith("documents.seq ASC")
    assert "documents.seq > " in sql


def test_not_equal_keeps_rows_whose_type_differs() -> None:
    # Without COALESCE, NOT (NULL) would drop documents holding a string or no value at all.
    sql = page_sql("postgresql", filter={"price": {"$ne": 5}})
    assert "NOT coalesce(CASE WHEN (jsonb_typeof(" in sql


def test_id_filters_use_the_indexed_column() -> None:
    sql = page_sql("sqlite", filter={"_id": {"$in": ["a", "b"]}, "x": 1})
    assert "documents.doc_id IN (?, ?)" in sql
    assert "json_type(documents.body, ?) IN ('integer', 'real')" in sql
    never = page_sql("sqlite", filter={"_id": 5})
    assert "documents.doc_id" not in never.split("WHERE", 1)[1].split("ORDER BY", 1)[0]
