"""Choosing the bus from configuration: NATS when ``NATS_URL`` is set, else off."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from petrosa.bus._base import MessageBus
from petrosa.bus._inprocess import NullBus
from petrosa.bus._nats import NatsBus


class BusSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    nats_url: str | None = None


async def bus_from_settings(settings: BusSettings | None = None) -> MessageBus:
    settings = settings or BusSettings()
    if settings.nats_url:
        return await NatsBus.connect(settings.nats_url)
    return NullBus()
