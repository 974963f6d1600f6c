"""FastAPI dependencies shared by the route modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request

from petrosa.datamanager.storage.database import Database


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


T = TypeVar("T")


def domain_store(request: Request, key: str, factory: Callable[[Database], T]) -> T:
    """The app's one instance of a domain store, built on first use."""
    stores: dict[str, Any] = request.app.state.stores
    if key not in stores:
        stores[key] = factory(request.app.state.db)
    store: T = stores[key]
    return store
