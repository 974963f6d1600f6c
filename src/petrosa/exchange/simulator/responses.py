"""JSON answers rendered with orjson (a page of 1,500 klines is 18,000 values)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class JsonResponse(JSONResponse):
    """``JSONResponse`` rendered by orjson."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
