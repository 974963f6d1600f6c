"""Extractor configuration from the environment (command-line flags override it)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from petrosa.contracts.market import DEFAULT_SYMBOLS
from petrosa.extractor.request import DEFAULT_DEADLINE_S


class ExtractorSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    default_symbols: Annotated[tuple[str, ...], NoDecode] = DEFAULT_SYMBOLS
    extractor_deadline_s: float = Field(default=DEFAULT_DEADLINE_S, gt=0)
    """``EXTRACTOR_DEADLINE_S``: seconds from the job's start until which undelivered
    completion events are retried."""

    @field_validator("default_symbols", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(s.strip().upper() for s in value.split(",") if s.strip())
        return value
