"""Leases in a MongoDB collection: one document per lock, ``_id`` = lock name.

Acquisition is one ``find_one_and_update`` with ``upsert``: its filter matches the lock's
document only when it is free, expired or already ours; otherwise the upsert tries to
insert a second document with the same ``_id``, and the duplicate-key error means "held by
someone else". The update is a pipeline, so the fencing token is decided from the old
document in the same atomic step (kept on renewal by the current holder, +1 otherwise).

Time comes from the server (``hello``'s ``localTime``), read just before the update, so
every contender compares expiry on the same clock; reading it early only makes a takeover
later and a lease shorter, never the reverse. Writes use majority write concern, so a lease
survives a primary failover.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.errors import ConnectionFailure, DuplicateKeyError, PyMongoError

from petrosa.coordination._errors import StoreUnavailable
from petrosa.coordination._lease import Grant, LeaseInfo
from petrosa.coordination._rules import first_token

DEFAULT_DATABASE = "petrosa"
"""Used when the URL names no database (``mongodb://host:27017/``)."""
COLLECTION = "leases"

ServerClock = Callable[[], Awaitable[dt.datetime]]
"""The store's current time, aware UTC, read from the store itself."""
Pipeline = Sequence[Mapping[str, Any]]


class MatchCount(Protocol):
    @property
    def matched_count(self) -> int: ...


class LeaseCollection(Protocol):
    """The part of pymongo's ``AsyncCollection`` the lease store uses."""

    async def find_one_and_update(
        self,
        filter: Mapping[str, Any],
        update: Pipeline,
        *,
        upsert: bool,
        return_document: bool,
    ) -> Mapping[str, Any] | None: ...

    async def update_one(self, filter: Mapping[str, Any], update: Pipeline) -> MatchCount: ...

    async def find_one(self, filter: Mapping[str, Any]) -> Mapping[str, Any] | None: ...


def acquire_filter(name: str, owner: str, now: dt.datetime) -> dict[str, Any]:
    """Matches the lock's document when free, expired at ``now``, or held by ``owner``."""
    return {
        "_id": name,
        "$or": [{"owner": None}, {"owner": owner}, {"expires_at": {"$lte": now}}],
    }


def acquire_pipeline(owner: str, now: dt.datetime, ttl: float) -> list[dict[str, Any]]:
    """The update of an acquisition; the token stage reads only the old document."""
    held_by_owner = {
        "$and": [{"$eq": ["$owner", {"$literal": owner}]}, {"$gt": ["$expires_at", now]}]
    }
    next_token = {"$add": [{"$ifNull": ["$token", first_token(now.timestamp()) - 1]}, 1]}
    return [
        {"$set": {"token": {"$cond": [held_by_owner, "$token", next_token]}}},
        {"$set": {"owner": {"$literal": owner}, "expires_at": now + _seconds(ttl)}},
    ]


def lease_filter(name: str, owner: str, token: int) -> dict[str, Any]:
    return {"_id": name, "owner": owner, "token": token}


class MongoLeaseStore:
    """A :class:`LeaseStore` on one MongoDB collection."""

    def __init__(
        self,
        collection: LeaseCollection,
        server_clock: ServerClock,
        *,
        label: str = "mongodb",
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._collection = collection
        self._server_clock = server_clock
        self._label = label
        self._on_close = on_close

    @classmethod
    def connect(cls, url: str, *, connect_timeout: float) -> MongoLeaseStore:
        """A store on the server of ``url`` (``mongodb://`` or ``mongodb+srv://``)."""
        timeout_ms = max(1, int(connect_timeout * 1000))
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            url,
            tz_aware=True,
            connectTimeoutMS=timeout_ms,
            serverSelectionTimeoutMS=timeout_ms,
            w="majority",
            readConcernLevel="majority",
        )
        database = client.get_default_database(DEFAULT_DATABASE)

        async def server_clock() -> dt.datetime:
            reply = await database.command("hello")
            return _utc(reply["localTime"])

        return cls(
            database.get_collection(COLLECTION),
            server_clock,
            label=redact_mongo_url(url),
            on_close=client.close,
        )

    @property
    def backend(self) -> str:
        return "mongodb"

    @property
    def label(self) -> str:
        return self._label

    async def acquire(self, name: str, owner: str, ttl: float) -> Grant | None:
        async with _mapped_errors():
            now = await self._server_clock()
            try:
                document = await self._collection.find_one_and_update(
                    acquire_filter(name, owner, now),
                    acquire_pipeline(owner, now, ttl),
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                return None
        return _grant(document)

    async def renew(self, name: str, owner: str, token: int, ttl: float) -> Grant | None:
        async with _mapped_errors():
            now = await self._server_clock()
            document = await self._collection.find_one_and_update(
                lease_filter(name, owner, token),
                [{"$set": {"expires_at": now + _seconds(ttl)}}],
                upsert=False,
                return_document=ReturnDocument.AFTER,
            )
        return _grant(document)

    async def release(self, name: str, owner: str, token: int) -> bool:
        async with _mapped_errors():
            now = await self._server_clock()
            result = await self._collection.update_one(
                lease_filter(name, owner, token),
                [{"$set": {"owner": None, "expires_at": now}}],
            )
        return result.matched_count == 1

    async def holder(self, name: str) -> LeaseInfo | None:
        async with _mapped_errors():
            now = await self._server_clock()
            document = await self._collection.find_one(
                {"_id": name, "owner": {"$ne": None}, "expires_at": {"$gt": now}}
            )
        if document is None:
            return None
        return LeaseInfo(
            name, str(document["owner"]), int(document["token"]), _utc(document["expires_at"])
        )

    async def ping(self) -> None:
        async with _mapped_errors():
            await self._server_clock()

    async def close(self) -> None:
        if self._on_close is not None:
            await self._on_close()


def redact_mongo_url(url: str) -> str:
    """The URL with any password replaced by ``***``."""
    return re.sub(r"(//[^:/@]+):[^@/]*@", r"\1:***@", url)


def _grant(document: Mapping[str, Any] | None) -> Grant | None:
    if document is None:
        return None
    return Grant(int(document["token"]), _utc(document["expires_at"]))


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:  # a client without tz_aware returns naive UTC
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _seconds(ttl: float) -> dt.timedelta:
    return dt.timedelta(seconds=ttl)


@asynccontextmanager
async def _mapped_errors() -> AsyncIterator[None]:
    """Outages and server-side timeouts → StoreUnavailable; other errors pass unchanged."""
    try:
        yield
    except PyMongoError as error:
        if isinstance(error, ConnectionFailure) or error.timeout:
            raise StoreUnavailable(f"mongodb lease store: {type(error).__name__}") from error
        raise
