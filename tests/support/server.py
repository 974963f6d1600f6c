"""Start a real Data Manager process (``petrosa data-manager serve``) for tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

STARTUP_TIMEOUT_S = 180.0
"""Generous: on a busy CI machine a service has taken over a minute to start."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningServer:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return ""


def start_service(
    name: str,
    arguments: list[str],
    log_dir: Path,
    *,
    ready_path: str,
    extra_env: dict[str, str] | None = None,
    startup_timeout_s: float = STARTUP_TIMEOUT_S,
) -> RunningServer:
    """Spawn ``petrosa <arguments> --port <free>`` and wait until ``ready_path`` answers 200."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    log_path = log_dir / f"{name}-{port}.log"
    command = [sys.executable, "-m", "petrosa.cli.main", *arguments, "--port", str(port)]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    server = RunningServer(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + startup_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.base_url}{ready_path}", timeout=1.0).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{name} not ready after {startup_timeout_s}s:\n{server.log_tail()}")


def start_data_manager(
    database_url: str, log_dir: Path, *, extra_env: dict[str, str] | None = None
) -> RunningServer:
    """``petrosa data-manager serve`` on the database, ready (readiness 200)."""
    return start_service(
        "data-manager",
        ["data-manager", "serve"],
        log_dir,
        ready_path="/health/readiness",
        extra_env={"DATA_MANAGER_DATABASE_URL": database_url, **(extra_env or {})},
    )


def start_exchange_simulator(log_dir: Path, *options: str) -> RunningServer:
    """``petrosa exchange-sim serve [options]``, ready (liveness 200)."""
    return start_service(
        "exchange-sim", ["exchange-sim", "serve", *options], log_dir, ready_path="/health/liveness"
    )
