"""Binance's refusals of signed requests and orders, with its codes and messages.

Authentication failures come first and are HTTP 401 for a key Binance does not accept
(-2014, -2015), 400 otherwise; every order refusal is HTTP 400 and leaves the account as it
was.
"""

from __future__ import annotations

from decimal import Decimal

from petrosa.exchange.simulator.errors import BinanceError, ErrorCode

UNAUTHORIZED = 401


def bad_api_key_format() -> BinanceError:
    return BinanceError(ErrorCode.BAD_API_KEY_FMT, "API-key format invalid.", status=UNAUTHORIZED)


def rejected_api_key() -> BinanceError:
    return BinanceError(
        ErrorCode.REJECTED_MBX_KEY,
        "Invalid API-key, IP, or permissions for action.",
        status=UNAUTHORIZED,
    )


def invalid_signature() -> BinanceError:
    return BinanceError(ErrorCode.INVALID_SIGNATURE, "Signature for this request is not valid.")


def timestamp_outside_window(*, ahead: bool) -> BinanceError:
    if ahead:
        return BinanceError(
            ErrorCode.INVALID_TIMESTAMP,
            "Timestamp for this request was 1000ms ahead of the server's time.",
        )
    return BinanceError(
        ErrorCode.INVALID_TIMESTAMP, "Timestamp for this request is outside of the recvWindow."
    )


def not_required(name: str) -> BinanceError:
    return BinanceError(ErrorCode.PARAM_NOT_REQUIRED, f"Parameter '{name}' sent when not required.")


def one_of_required(first: str, second: str) -> BinanceError:
    return BinanceError(
        ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
        f"Param '{first}' or '{second}' must be sent, but both were empty/null!",
    )


def invalid_order_type() -> BinanceError:
    return BinanceError(ErrorCode.INVALID_ORDER_TYPE, "Invalid orderType.")


def algo_order_required() -> BinanceError:
    """A conditional type sent to ``/fapi/v1/order``: Binance serves those on its Algo Order
    endpoints only (since 2025-12-09)."""
    return BinanceError(
        ErrorCode.STOP_ORDER_SWITCH_ALGO,
        "Order type not supported for this endpoint. Please use the Algo Order API endpoints"
        " instead.",
    )


def invalid_side() -> BinanceError:
    return BinanceError(ErrorCode.INVALID_SIDE, "Invalid side.")


def invalid_response_type() -> BinanceError:
    return BinanceError(ErrorCode.INVALID_NEW_ORDER_RESP_TYPE, "Invalid newOrderRespType.")


def invalid_working_type(value: str) -> BinanceError:
    return BinanceError(ErrorCode.INVALID_WORKING_TYPE, f"Invalid parameter working type: {value}")


def position_side_mismatch() -> BinanceError:
    return BinanceError(
        ErrorCode.POSITION_SIDE_NOT_MATCH, "Order's position side does not match user's setting."
    )


def bad_precision() -> BinanceError:
    return BinanceError(
        ErrorCode.BAD_PRECISION, "Precision is over the maximum defined for this asset."
    )


def quantity_not_positive() -> BinanceError:
    return BinanceError(ErrorCode.QTY_LESS_THAN_ZERO, "Quantity less than or equal to zero.")


def quantity_above_maximum() -> BinanceError:
    return BinanceError(ErrorCode.QTY_GREATER_THAN_MAX_QTY, "Quantity greater than max quantity.")


def stop_price_not_positive() -> BinanceError:
    return BinanceError(ErrorCode.STOP_PRICE_LESS_THAN_ZERO, "Stop price less than zero.")


def quantity_with_close_position() -> BinanceError:
    return BinanceError(
        ErrorCode.QUANTITY_EXISTS_WITH_CLOSE_POSITION,
        "Quantity must be zero with closePosition equals true.",
    )


def invalid_client_order_id() -> BinanceError:
    return BinanceError(ErrorCode.INVALID_CL_ORD_ID_LEN, "Client order id is not valid.")


def duplicate_client_order_id() -> BinanceError:
    return BinanceError(ErrorCode.DUPLICATED_CLIENT_ORDER_ID, "ClientOrderId is duplicated.")


def min_notional(minimum: str) -> BinanceError:
    return BinanceError(
        ErrorCode.MIN_NOTIONAL,
        f"Order's notional must be no smaller than {minimum} (unless you choose reduce only).",
    )


def margin_insufficient() -> BinanceError:
    return BinanceError(ErrorCode.MARGIN_NOT_SUFFICIENT, "Margin is insufficient.")


def would_immediately_trigger() -> BinanceError:
    return BinanceError(
        ErrorCode.ORDER_WOULD_IMMEDIATELY_TRIGGER, "Order would immediately trigger."
    )


def reduce_only_rejected() -> BinanceError:
    return BinanceError(ErrorCode.REDUCE_ONLY_REJECT, "ReduceOnly Order is rejected.")


def no_such_order() -> BinanceError:
    return BinanceError(ErrorCode.NO_SUCH_ORDER, "Order does not exist.")


def unknown_order_sent() -> BinanceError:
    return BinanceError(ErrorCode.CANCEL_REJECTED, "Unknown order sent.")


def invalid_leverage(value: int | Decimal | str) -> BinanceError:
    return BinanceError(ErrorCode.INVALID_LEVERAGE, f"Leverage {value} is not valid")
