"""JSON on the wire with orjson: fast for big kline batches, and aware of the contracts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

import orjson
import pydantic
from pydantic import BaseModel, TypeAdapter

from petrosa.client._exceptions import DecodingError

T = TypeVar("T")


def _default(value: Any) -> Any:
    """What orjson cannot encode by itself: pydantic models and Decimal money."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Decimal):
        # Money travels as a decimal string so it is never rounded through a float.
        return format(value, "f")
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def encode_json(value: Any) -> bytes:
    """Encode a request body; datetimes keep their UTC offset, models dump in JSON mode."""
    return orjson.dumps(value, default=_default)


def decode_json(content: bytes) -> Any:
    """Decode a response body; an empty body is ``None``."""
    if not content:
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError as error:
        raise DecodingError(f"the Data Manager sent invalid JSON: {error}") from error


def parse_as(adapter: TypeAdapter[T], data: Any, what: str) -> T:
    """Validate a decoded answer into the contract type; a mismatch is a ``DecodingError``."""
    try:
        return adapter.validate_python(data)
    except pydantic.ValidationError as error:
        raise DecodingError(f"unexpected {what} from the Data Manager: {error}") from error
