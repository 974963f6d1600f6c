"""``exchangeInfo`` bodies: rate limits and every listed symbol with its trading filters."""

from __future__ import annotations

from typing import Any

from petrosa.exchange.simulator.instruments import Contract, Instrument
from petrosa.exchange.simulator.text import decimal_text, padded_text
from petrosa.exchange.simulator.venue import Venue

SPOT_DECIMALS = 8
ASSET_PRECISION = 8
MAX_PRICE_UNITS = 1_000
"""Largest price accepted, in units of the base price (PRICE_FILTER maxPrice)."""
MAX_QTY = 9_000_000
FUTURES_DELIVERY_DATE = 4_133_404_800_000
"""Perpetual contracts "deliver" in 2100, as Binance lists them."""
SPOT_ORDER_TYPES = [
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
]
FUTURES_ORDER_TYPES = [
    "LIMIT",
    "MARKET",
    "STOP",
    "STOP_MARKET",
    "TAKE_PROFIT",
    "TAKE_PROFIT_MARKET",
    "TRAILING_STOP_MARKET",
]


def _rate_limit(kind: str, interval: str, num: int, limit: int) -> dict[str, Any]:
    return {"rateLimitType": kind, "interval": interval, "intervalNum": num, "limit": limit}


def _step(decimals: int, width: int) -> str:
    return padded_text(1, decimals, width)


def _max_price(instrument: Instrument, contract: Contract, width: int) -> str:
    units = int(instrument.base_price * MAX_PRICE_UNITS) * 10**contract.price_decimals
    return padded_text(units, contract.price_decimals, width)


def _spot_symbol(instrument: Instrument) -> dict[str, Any]:
    rules = instrument.spot
    width = SPOT_DECIMALS
    return {
        "symbol": instrument.symbol,
        "status": "TRADING",
        "baseAsset": instrument.base_asset,
        "baseAssetPrecision": ASSET_PRECISION,
        "quoteAsset": instrument.quote_asset,
        "quotePrecision": ASSET_PRECISION,
        "quoteAssetPrecision": ASSET_PRECISION,
        "baseCommissionPrecision": ASSET_PRECISION,
        "quoteCommissionPrecision": ASSET_PRECISION,
        "orderTypes": SPOT_ORDER_TYPES,
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": _step(rules.price_decimals, width),
                "maxPrice": _max_price(instrument, rules, width),
                "tickSize": _step(rules.price_decimals, width),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": _step(rules.qty_decimals, width),
                "maxQty": padded_text(MAX_QTY, 0, width),
                "stepSize": _step(rules.qty_decimals, width),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": rules.min_notional,
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def spot_exchange_info(venue: Venue, symbols: list[str]) -> dict[str, Any]:
    """The spot body for ``symbols`` (already validated as listed)."""
    return {
        "timezone": "UTC",
        "serverTime": venue.now_ms(),
        "rateLimits": [
            _rate_limit("REQUEST_WEIGHT", "MINUTE", 1, venue.settings.spot_weight_limit),
            _rate_limit("ORDERS", "SECOND", 10, 100),
            _rate_limit("ORDERS", "DAY", 1, 200_000),
            _rate_limit("RAW_REQUESTS", "MINUTE", 5, 61_000),
        ],
        "exchangeFilters": [],
        "symbols": [_spot_symbol(venue.instrument(s)) for s in symbols],
    }


def _futures_symbol(instrument: Instrument, onboard_ms: int) -> dict[str, Any]:
    rules = instrument.futures
    step = decimal_text(1, rules.qty_decimals)
    return {
        "symbol": instrument.symbol,
        "pair": instrument.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": FUTURES_DELIVERY_DATE,
        "onboardDate": onboard_ms,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": instrument.base_asset,
        "quoteAsset": instrument.quote_asset,
        "marginAsset": instrument.quote_asset,
        "pricePrecision": rules.price_decimals,
        "quantityPrecision": rules.qty_decimals,
        "baseAssetPrecision": ASSET_PRECISION,
        "quotePrecision": ASSET_PRECISION,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": decimal_text(1, rules.price_decimals),
                "maxPrice": _max_price(instrument, rules, 0),
                "tickSize": decimal_text(1, rules.price_decimals),
            },
            {"filterType": "LOT_SIZE", "minQty": step, "maxQty": str(MAX_QTY), "stepSize": step},
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": step,
                "maxQty": str(MAX_QTY // 10),
                "stepSize": step,
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": rules.min_notional},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": "1.0500",
                "multiplierDown": "0.9500",
                "multiplierDecimal": "4",
            },
        ],
        "orderTypes": FUTURES_ORDER_TYPES,
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
    }


def futures_exchange_info(venue: Venue) -> dict[str, Any]:
    """The USD-M futures body for every listed symbol."""
    quote_assets = sorted({i.quote_asset for i in venue.instruments.values()})
    return {
        "timezone": "UTC",
        "serverTime": venue.now_ms(),
        "futuresType": "U_MARGINED",
        "rateLimits": [
            _rate_limit("REQUEST_WEIGHT", "MINUTE", 1, venue.settings.futures_weight_limit),
            _rate_limit("ORDERS", "MINUTE", 1, 1_200),
            _rate_limit("ORDERS", "SECOND", 10, 300),
        ],
        "exchangeFilters": [],
        "assets": [
            {"asset": asset, "marginAvailable": True, "autoAssetExchange": "0"}
            for asset in quote_assets
        ],
        "symbols": [
            _futures_symbol(instrument, venue.listing_ms)
            for instrument in venue.instruments.values()
        ],
    }
