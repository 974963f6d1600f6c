"""The USD-M futures endpoints the trading adapter calls, with Binance's documented weights.

===============================  ======  ======================================================
endpoint                         weight  notes
===============================  ======  ======================================================
``POST /fapi/v1/order``          0       counts on the account's order limits instead
                                         (10 s and 1 min); never resent blindly
``GET /fapi/v1/order``           1       by ``origClientOrderId``
``DELETE /fapi/v1/order``        1       never resent blindly
``GET /fapi/v1/openOrders``      1       40 without ``symbol``
``POST /fapi/v1/algoOrder``      0       conditional orders (stop-loss, take-profit); never
                                         resent blindly
``GET /fapi/v1/algoOrder``       1       by ``clientAlgoId``
``DELETE /fapi/v1/algoOrder``    1       never resent blindly
``GET /fapi/v1/openAlgoOrders``  1       40 without ``symbol``
``GET /fapi/v1/userTrades``      5       fills with ``commission`` and ``realizedPnl``
``POST /fapi/v1/leverage``       1
``GET /fapi/v3/positionRisk``    5
``GET /fapi/v3/account``         5
``GET /fapi/v1/premiumIndex``    1       public: ``markPrice``
``GET /fapi/v1/exchangeInfo``    1       public: the filters
===============================  ======  ======================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from petrosa.exchange.binance._signing import Param


@dataclass(frozen=True)
class TradingEndpoint:
    """One endpoint: how it is called and what it costs."""

    method: str
    path: str
    weight: int
    signed: bool = True
    idempotent: bool = True
    """Whether sending it again after a lost answer is harmless (reads, leverage)."""
    all_symbols_weight: int | None = None
    """Its weight when ``symbol`` is left out, where that costs more."""

    def weight_for(self, params: Iterable[tuple[str, Param]]) -> int:
        """The weight of a request with ``params``."""
        if self.all_symbols_weight is not None and not any(
            name == "symbol" and value is not None for name, value in params
        ):
            return self.all_symbols_weight
        return self.weight


NEW_ORDER = TradingEndpoint("POST", "/fapi/v1/order", 0, idempotent=False)
QUERY_ORDER = TradingEndpoint("GET", "/fapi/v1/order", 1)
CANCEL_ORDER = TradingEndpoint("DELETE", "/fapi/v1/order", 1, idempotent=False)
OPEN_ORDERS = TradingEndpoint("GET", "/fapi/v1/openOrders", 1, all_symbols_weight=40)
NEW_ALGO_ORDER = TradingEndpoint("POST", "/fapi/v1/algoOrder", 0, idempotent=False)
QUERY_ALGO_ORDER = TradingEndpoint("GET", "/fapi/v1/algoOrder", 1)
CANCEL_ALGO_ORDER = TradingEndpoint("DELETE", "/fapi/v1/algoOrder", 1, idempotent=False)
OPEN_ALGO_ORDERS = TradingEndpoint("GET", "/fapi/v1/openAlgoOrders", 1, all_symbols_weight=40)
USER_TRADES = TradingEndpoint("GET", "/fapi/v1/userTrades", 5)
LEVERAGE = TradingEndpoint("POST", "/fapi/v1/leverage", 1)
POSITION_RISK = TradingEndpoint("GET", "/fapi/v3/positionRisk", 5)
ACCOUNT = TradingEndpoint("GET", "/fapi/v3/account", 5)
PREMIUM_INDEX = TradingEndpoint("GET", "/fapi/v1/premiumIndex", 1, signed=False)
EXCHANGE_INFO = TradingEndpoint("GET", "/fapi/v1/exchangeInfo", 1, signed=False)
