"""Where Binance is: base URLs read once from the environment."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from petrosa.exchange.binance._markets import Market

DEFAULT_SPOT_URL = "https://api.binance.com"
DEFAULT_FUTURES_URL = "https://fapi.binance.com"


class BinanceSettings(BaseSettings):
    """``BINANCE_API_URL`` (spot) and ``BINANCE_FUTURES_API_URL`` (USD-M futures).

    Point both at the local exchange simulator (``http://127.0.0.1:8100``) to run without
    Binance.
    """

    model_config = SettingsConfigDict(env_prefix="BINANCE_", extra="ignore")

    api_url: str = DEFAULT_SPOT_URL
    futures_api_url: str = DEFAULT_FUTURES_URL

    def base_url(self, market: Market | str) -> str:
        """The base URL of ``market``."""
        return self.api_url if Market(market) is Market.SPOT else self.futures_api_url
