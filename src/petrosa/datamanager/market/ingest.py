"""Validation of market-data write batches straight from the request bytes.

One TypeAdapter validates the whole body (pydantic's Rust core, no per-row model objects);
the few cross-field rules (high >= low, …) then run over plain tuples. Errors name the
offending field, e.g. ``["body", "klines", 3, "high"]``.

Kline batches that are all Binance arrays (what the client and the extractor send) take a
fast path: the same field rules without the array-or-object choice per row, which costs a
Python call per row and about 40 % of the validation. Anything else (objects, a mix, a bad
row) is validated again by the full model, so errors and accepted values are the same
either way.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Annotated, Any, Literal, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    with_config,
)
from typing_extensions import TypedDict

from petrosa.contracts.market import Interval, Symbol
from petrosa.datamanager.errors import InvalidInput
from petrosa.datamanager.json_rules import INT64_MAX
from petrosa.datamanager.settings import MAX_BATCH_ROWS

_MAX_MS = 4_102_444_800_000  # 2100-01-01: anything later is a unit mistake (µs, ns)
Ms = Annotated[int, Field(ge=0, le=_MAX_MS)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=INT64_MAX)]  # BIGINT columns: refused here, not by the driver

KLINE_FIELDS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "trades",
    "taker_buy_base_volume",
    "taker_buy_quote_volume",
    "ignore",
)

KlineArray = tuple[
    Ms, NonNegative, NonNegative, NonNegative, NonNegative, NonNegative,
    Ms, NonNegative, Count, NonNegative, NonNegative, Any,
]  # fmt: skip


@with_config(ConfigDict(extra="forbid"))
class KlineObject(TypedDict):
    open_time: Ms
    open: NonNegative
    high: NonNegative
    low: NonNegative
    close: NonNegative
    volume: NonNegative
    close_time: Ms
    quote_volume: NonNegative
    trades: Count
    taker_buy_base_volume: NonNegative
    taker_buy_quote_volume: NonNegative


def _row_kind(value: Any) -> str:
    return "object" if isinstance(value, dict) else "array"


KlineRow = Annotated[
    Annotated[KlineArray, Tag("array")] | Annotated[KlineObject, Tag("object")],
    Discriminator(_row_kind),
]


class KlineBatch(BaseModel):
    """A batch of klines for one symbol+interval (Binance arrays and/or objects)."""

    model_config = ConfigDict(extra="forbid")

    symbol: Symbol
    interval: Interval
    klines: Annotated[list[KlineRow], Field(max_length=MAX_BATCH_ROWS)]


class TradeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trade_id: Count
    price: NonNegative
    quantity: NonNegative
    time: Ms
    is_buyer_maker: bool
    first_trade_id: Count | None = None
    last_trade_id: Count | None = None


class TradeBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    symbol: Symbol
    trades: Annotated[list[TradeIn], Field(max_length=MAX_BATCH_ROWS)]


class FundingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    funding_time: Ms
    funding_rate: Finite
    mark_price: NonNegative | None = None


class FundingBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    symbol: Symbol
    rates: Annotated[list[FundingIn], Field(max_length=MAX_BATCH_ROWS)]


class _KlineArrayBatch(BaseModel):
    """:class:`KlineBatch` when every row is an array: the fast path's model."""

    model_config = ConfigDict(extra="forbid")

    symbol: Symbol
    interval: Interval
    klines: Annotated[list[KlineArray], Field(max_length=MAX_BATCH_ROWS, fail_fast=True)]


M = TypeVar("M", bound=BaseModel)
_KLINE_BATCH = TypeAdapter(KlineBatch)
_KLINE_ARRAY_BATCH = TypeAdapter(_KlineArrayBatch)
KLINE_VALUE_FIELDS = KLINE_FIELDS[1:11]
_OBJECT_ROW = itemgetter(*KLINE_FIELDS[:11])


def parse_kline_batch(body: bytes) -> tuple[str, Interval, list[tuple[Any, ...]]]:
    """Validate a kline batch, its rows' cross-field rules and their place on the candle
    grid; rows come back as ``(open_time, open, …, taker_buy_quote)``."""
    try:
        arrays = _KLINE_ARRAY_BATCH.validate_json(body)
    except ValidationError:  # objects, a mix, or a bad row: the full model decides
        batch = validate_body(_KLINE_BATCH, body)
        symbol, interval = batch.symbol, batch.interval
        rows = [
            item[:11] if isinstance(item, tuple) else _OBJECT_ROW(item) for item in batch.klines
        ]
    else:
        symbol, interval = arrays.symbol, arrays.interval
        rows = [item[:11] for item in arrays.klines]
    _check_klines(rows, interval)
    return symbol, interval, rows


def _check_klines(rows: list[tuple[Any, ...]], interval: Interval) -> None:
    """The cross-field rules, then the candle grid, over every row; the first row breaking
    one is named."""
    fixed = interval.milliseconds
    if _every_row_holds(rows, fixed or 1, interval.phase_ms):  # one pass for the usual batch
        if fixed is not None:
            return
    else:
        for index, row in enumerate(rows):
            _check_kline(row, index)
    # a month has no fixed step, and a batch that broke no cross-field rule broke the grid
    if (off_grid := interval.first_off_grid(row[0] for row in rows)) is not None:
        raise InvalidInput(
            ["body", "klines", off_grid, "open_time"], f"not on the {interval.value} candle grid"
        )


def _every_row_holds(rows: list[tuple[Any, ...]], step: int, phase: int) -> bool:
    """Every row keeps the cross-field rules and opens on the grid of ``step`` ms.

    Rows are unpacked whole: a ``*rest`` target builds a list per row and triples the cost.
    """
    for open_time, open_, high, low, close, _v, close_time, _q, _n, _tb, _tq in rows:
        if (open_time - phase) % step or not (
            low <= open_ <= high and low <= close <= high and open_time <= close_time
        ):
            return False
    return True


def _check_kline(row: tuple[Any, ...], index: int) -> None:
    open_time, open_, high, low, close, _vol, close_time = row[:7]
    if high < low:
        raise InvalidInput(["body", "klines", index, "high"], "high must be >= low")
    if not (low <= open_ <= high):
        raise InvalidInput(["body", "klines", index, "open"], "open must lie within [low, high]")
    if not (low <= close <= high):
        raise InvalidInput(["body", "klines", index, "close"], "close must lie within [low, high]")
    if close_time < open_time:
        raise InvalidInput(["body", "klines", index, "close_time"], "close_time < open_time")


def validate_body(adapter: TypeAdapter[M], body: bytes) -> M:
    """Validate raw JSON bytes; on failure raise FastAPI's 422 with readable locations."""
    try:
        return adapter.validate_json(body)
    except ValidationError as error:
        raise RequestValidationError(_readable_errors(error), body=None) from None


def _readable_errors(error: ValidationError) -> list[dict[str, Any]]:
    readable = []
    for item in error.errors(include_url=False, include_input=False):
        loc = ["body", *_field_names(item["loc"])]
        readable.append({"loc": loc, "msg": item["msg"], "type": item["type"]})
    return readable


def _field_names(loc: tuple[int | str, ...]) -> list[int | str]:
    """Turn ``klines, 3, array, 2`` into ``klines, 3, high`` (tag dropped, index named)."""
    named: list[int | str] = []
    iterator = iter(loc)
    for part in iterator:
        if part == "array":
            position = next(iterator, None)
            if isinstance(position, int) and position < len(KLINE_FIELDS):
                named.append(KLINE_FIELDS[position])
            continue
        if part == "object":
            continue
        named.append(part)
    return named


TRADE_COLUMNS = (
    "price",
    "quantity",
    "time",
    "is_buyer_maker",
    "first_trade_id",
    "last_trade_id",
)
FUNDING_COLUMNS = ("funding_rate", "mark_price")
Order = Literal["asc", "desc"]
