"""HTTP/1.1 by hand over a socket, for uploads no client library sends: a body announced
and never sent, a chunked body that goes on until the server answers, a body sent a piece
at a time while the test watches for the answer."""

from __future__ import annotations

import select
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

ANSWER_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


class RawUpload:
    """One request on its own connection: the head is sent at once, the body as the test
    says. ``sent`` counts the body bytes the socket accepted."""

    def __init__(self, base_url: str, method: str, path: str, headers: Mapping[str, str]) -> None:
        url = urlsplit(base_url)
        assert url.hostname is not None
        assert url.port is not None
        self.sock = socket.create_connection((url.hostname, url.port), timeout=ANSWER_TIMEOUT_S)
        head = [f"{method} {path} HTTP/1.1", f"Host: {url.netloc}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        self.sent = 0

    def __enter__(self) -> RawUpload:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.sock.close()

    def answered(self) -> bool:
        """The server has sent something (or closed): readable without waiting."""
        readable, _, _ = select.select([self.sock], [], [], 0)
        return bool(readable)

    def send(self, data: bytes) -> bool:
        """Send body bytes; False when the server closed its side (it answered already)."""
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        self.sent += len(data)
        return True

    def send_chunk(self, data: bytes) -> bool:
        """One chunk of a ``Transfer-Encoding: chunked`` body."""
        return self.send(b"%x\r\n%s\r\n" % (len(data), data))

    def answer(self) -> RawAnswer:
        """Read the response (waiting up to ``ANSWER_TIMEOUT_S``)."""
        data = b""
        while b"\r\n\r\n" not in data:
            piece = self.sock.recv(65_536)
            if not piece:
                raise ConnectionError(f"closed before a full response head: {data!r}")
            data += piece
        head, _, body = data.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            piece = self.sock.recv(65_536)
            if not piece:
                break
            body += piece
        return RawAnswer(int(status_line.split()[1]), headers, body)
