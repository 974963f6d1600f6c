"""Signals the engine gave up on, kept in the Data Manager (``tradeengine_dead_letters``).

A message lands here when it can never be decided (not even recorded as an invalid signal)
or when its last allowed delivery (``TRADEENGINE_NATS_MAX_DELIVER``) still failed. One
document per stream message, keyed ``<stream>:<stream sequence>``: recording the same
message again (a retry, another replica) changes nothing. The payload is kept up to
``MAX_PAYLOAD_BYTES``, as text when it is UTF-8 without NUL characters, else base64; its size
and SHA-256 are always recorded. ``GET /dead-letters`` and ``petrosa tradeengine
dead-letters`` list them, newest first.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from petrosa.client import DataManagerClient
from petrosa.tradeengine.validation import clip

DEAD_LETTERS = "tradeengine_dead_letters"
MAX_PAYLOAD_BYTES = 8_192
MAX_REASON_CHARS = 1_000
MAX_ID_CHARS = 128


@dataclass(frozen=True)
class DeadLetter:
    """A message given up on, with where it came from and why."""

    stream: str
    stream_sequence: int
    consumer: str
    subject: str
    deliveries: int
    reason: str
    payload: bytes

    @property
    def key(self) -> str:
        key = f"{self.stream}:{self.stream_sequence}"
        if len(key) <= MAX_ID_CHARS:
            return key
        return "dl-" + hashlib.sha256(key.encode()).hexdigest()[:32]

    def document(self, *, replica: str, at: dt.datetime) -> dict[str, Any]:
        kept = self.payload[:MAX_PAYLOAD_BYTES]
        truncated = len(kept) < len(self.payload)
        text, encoding = _as_text(kept, truncated=truncated)
        return {
            "_id": self.key,
            "stream": self.stream,
            "stream_sequence": self.stream_sequence,
            "consumer": self.consumer,
            "subject": self.subject,
            "deliveries": self.deliveries,
            "reason": clip(self.reason, MAX_REASON_CHARS),
            "payload": text,
            "payload_encoding": encoding,
            "payload_truncated": truncated,
            "payload_bytes": len(self.payload),
            "payload_sha256": hashlib.sha256(self.payload).hexdigest(),
            "dead_at": at.astimezone(dt.UTC).isoformat(),
            "replica": replica,
        }


class DeadLetters:
    def __init__(self, store: DataManagerClient) -> None:
        self.store = store

    async def prepare(self) -> None:
        await self.store.declare_collection(DEAD_LETTERS)

    async def record(self, letter: DeadLetter, *, replica: str) -> bool:
        """Keep ``letter``; False when it was kept already."""
        document = letter.document(replica=replica, at=dt.datetime.now(dt.UTC))
        return (await self.store.insert_one(DEAD_LETTERS, document)).inserted

    async def latest(self, limit: int) -> list[dict[str, Any]]:
        """The dead letters, newest first."""
        page = await self.store.query(DEAD_LETTERS, sort=[("dead_at", -1)], limit=limit)
        return [dict(doc) for doc in page]


def _as_text(payload: bytes, *, truncated: bool) -> tuple[str, str]:
    """The payload as stored: UTF-8 text when it is that (and has no NUL, which not every
    database stores), else base64. A character that truncation cut in two is dropped."""
    for cut in range(4 if truncated else 1):  # a UTF-8 character is at most 4 bytes
        try:
            text = payload[: len(payload) - cut].decode()
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text, "utf-8"
        break
    return base64.b64encode(payload).decode("ascii"), "base64"
