"""Extractor configuration from the environment (command-line flags override it)."""

from __future__ import annotations

from typing import Annotated

from pydantic import field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from petrosa.contracts.market import DEFAULT_SYMBOLS

DEFAULT_CONCURRENCY = 10


class ExtractorSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    default_symbols: Annotated[tuple[str, ...], NoDecode] = DEFAULT_SYMBOLS

    @field_validator("default_symbols", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(s.strip().upper() for s in value.split(",") if s.strip())
        return value
