"""OpenAPI request-body declarations for the routes that parse their body themselves
(bulk ingest reads raw bytes for speed, so FastAPI cannot derive the schema).

Pydantic puts a model's sub-schemas under ``$defs`` and points at them with
``#/$defs/...``; embedded in the OpenAPI document those pointers would resolve against the
document's root, where there is no ``$defs``. The declarations here are self-contained:
every local reference is inlined.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

JSON = "application/json"
_LOCAL_REF = "#/$defs/"


def json_request_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` declaring ``model`` as the route's JSON body."""
    return {"requestBody": {"content": {JSON: {"schema": self_contained(model)}}}}


def self_contained(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of ``model`` with its ``$defs`` inlined (no references left)."""
    schema = model.model_json_schema()
    definitions: dict[str, Any] = schema.pop("$defs", {})

    def inline(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [inline(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if not (isinstance(ref, str) and ref.startswith(_LOCAL_REF)):
            return {key: inline(value, seen) for key, value in node.items()}
        name = ref.removeprefix(_LOCAL_REF)
        if name in seen:
            raise ValueError(f"{model.__name__}: {name} is recursive and cannot be inlined")
        target = inline(definitions[name], (*seen, name))
        siblings = {key: inline(value, seen) for key, value in node.items() if key != "$ref"}
        return {**target, **siblings}

    inlined: dict[str, Any] = inline(schema, ())
    return inlined
