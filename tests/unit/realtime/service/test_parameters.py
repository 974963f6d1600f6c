"""The parameter document: applied by version, a bad one refused with its field named while
the one in force stays."""

from __future__ import annotations

import datetime as dt
from typing import Any

from petrosa.contracts import Market
from petrosa.contracts.trading import ConfigValue
from petrosa.realtime.service.parameters import Parameters
from petrosa.realtime.strategies.orderbook_imbalance import ImbalanceParams

KEY = "realtime.strategies"


class Store:
    def __init__(self) -> None:
        self.value: ConfigValue | None = None

    def put(self, version: int, document: dict[str, Any]) -> None:
        now = dt.datetime.now(dt.UTC)
        self.value = ConfigValue(
            key=KEY, value=document, version=version, updated_at=now, updated_by="test"
        )

    async def read(self, key: str) -> ConfigValue | None:
        assert key == KEY
        return self.value


def imbalance(parameters: Parameters) -> ImbalanceParams:
    params = parameters.config.resolve(Market.FUTURES, "BTCUSDT")["orderbook_imbalance"]
    assert isinstance(params, ImbalanceParams)
    return params


async def test_no_document_means_defaults() -> None:
    parameters = Parameters(Store().read, KEY)
    assert not await parameters.refresh()
    assert parameters.version == 0
    assert imbalance(parameters).cooldown_s == 120


async def test_a_new_version_applies_and_a_bad_one_is_refused_naming_the_field() -> None:
    store = Store()
    parameters = Parameters(store.read, KEY)
    store.put(1, {"strategies": {"orderbook_imbalance": {"params": {"cooldown_s": 30}}}})
    assert await parameters.refresh()
    assert (parameters.version, imbalance(parameters).cooldown_s) == (1, 30)
    assert not await parameters.refresh()  # same version: nothing to do

    store.put(2, {"symbols": {"BTCUSDT": {"orderbook_imbalance": {"params": {"trigger": 3}}}}})
    assert not await parameters.refresh()
    assert parameters.rejected is not None
    assert parameters.rejected["version"] == 2
    assert "symbols.BTCUSDT.orderbook_imbalance.params.trigger" in parameters.rejected["error"]
    assert (parameters.version, imbalance(parameters).cooldown_s) == (1, 30)

    store.put(3, {"strategies": {"orderbook_imbalance": {"enabled": False}}})
    assert await parameters.refresh()
    assert parameters.rejected is None
    assert "orderbook_imbalance" not in parameters.config.resolve(Market.FUTURES, "BTCUSDT")
