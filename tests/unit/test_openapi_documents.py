"""Every service's OpenAPI document is self-contained: each ``$ref`` resolves inside it
(a dangling one makes fuzzers and code generators skip the operation), and the bulk-ingest
bodies, which their routes parse themselves, are declared in full."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from petrosa.datamanager.api.body_schemas import self_contained
from petrosa.datamanager.app import create_app as data_manager
from petrosa.datamanager.settings import DataManagerSettings
from petrosa.exchange.simulator.app import create_app as exchange_simulator
from petrosa.tradeengine.api import create_app as trade_engine
from petrosa.tradeengine.settings import TradeEngineSettings

SERVICES: dict[str, Callable[[], FastAPI]] = {
    "data-manager": lambda: data_manager(DataManagerSettings()),
    "trade-engine": lambda: trade_engine(TradeEngineSettings()),
    "exchange-simulator": lambda: exchange_simulator(),
}


def references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def resolve(document: dict[str, Any], ref: str) -> Any:
    """The node a local JSON pointer (``#/a/b``) names; KeyError when there is none."""
    assert ref.startswith("#/"), f"{ref} is not local to the document"
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


@pytest.mark.parametrize("service", SERVICES)
def test_every_reference_resolves(service: str) -> None:
    document = SERVICES[service]().openapi()
    refs = set(references(document))
    dangling = []
    for ref in sorted(refs):
        try:
            resolve(document, ref)
        except (KeyError, TypeError):
            dangling.append(ref)
    assert dangling == []


@pytest.mark.parametrize(
    ("path", "rows", "row_fields"),
    [
        ("/data/klines", "klines", {"open_time", "close", "volume"}),
        ("/data/trades", "trades", {"trade_id", "price", "quantity"}),
        ("/data/funding", "rates", {"funding_time", "funding_rate"}),
    ],
)
def test_bulk_bodies_are_declared_in_full(path: str, rows: str, row_fields: set[str]) -> None:
    document = SERVICES["data-manager"]().openapi()
    body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    schema = body["schema"]
    assert "$defs" not in schema
    items = schema["properties"][rows]["items"]
    variants = items.get("oneOf") or items.get("anyOf") or [items]  # klines: arrays or objects
    declared = set().union(*(variant.get("properties", {}) for variant in variants))
    assert row_fields <= declared


class Node(BaseModel):
    children: list[Node] = []


def test_a_recursive_body_is_refused_rather_than_inlined_forever() -> None:
    with pytest.raises(ValueError, match="Node is recursive"):
        self_contained(Node)
