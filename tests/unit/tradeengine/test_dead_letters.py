"""What a dead letter keeps of a message: bounded, storable, and keyed by its place in
the stream."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

from petrosa.tradeengine.dead_letters import MAX_PAYLOAD_BYTES, DeadLetter

AT = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)


def letter(payload: bytes, *, stream: str = "SIGNALS", reason: str = "why") -> DeadLetter:
    return DeadLetter(stream, 41, "engine", "signals.trading", 20, reason, payload)


def test_a_small_text_payload_is_kept_as_it_came() -> None:
    document = letter(b'{"signal_id": "s-1"}').document(replica="r1", at=AT)
    assert document["_id"] == "SIGNALS:41"
    assert (document["payload"], document["payload_encoding"]) == ('{"signal_id": "s-1"}', "utf-8")
    assert document["payload_truncated"] is False
    assert document["dead_at"] == "2026-12-07T12:00:00+00:00"


def test_a_large_payload_is_cut_but_its_size_and_digest_are_whole() -> None:
    payload = "é".encode() * MAX_PAYLOAD_BYTES  # two bytes each: the cut splits one
    document = letter(payload, reason="r" * 10_000).document(replica="r1", at=AT)
    assert document["payload_encoding"] == "utf-8"
    assert document["payload"] == "é" * (MAX_PAYLOAD_BYTES // 2)
    assert document["payload_truncated"] is True
    assert document["payload_bytes"] == len(payload)
    assert document["payload_sha256"] == hashlib.sha256(payload).hexdigest()
    assert len(document["reason"]) <= 1_000


def test_bytes_that_are_not_storable_text_are_kept_as_base64() -> None:
    for payload in (b"\xff\xfe binary", b'{"a": "\x00"}'):
        document = letter(payload).document(replica="r1", at=AT)
        assert document["payload_encoding"] == "base64"
        assert base64.b64decode(document["payload"]) == payload


def test_an_overlong_stream_name_still_gives_a_valid_key() -> None:
    key = letter(b"{}", stream="S" * 200).key
    assert key.startswith("dl-")
    assert len(key) <= 128
    assert key == letter(b"other", stream="S" * 200).key  # the same message, the same key
