"""The API served for real, over TCP: ``pbdeployer serve`` as a process, or uvicorn in a thread,
and a WebSocket client of ``/api/v1/ws`` (the ``websockets`` library, synchronous).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from litestar import Litestar
from websockets.sync.client import ClientConnection, connect

from pbdeployer.api import API_PREFIX

Json = dict[str, Any]
TOKEN = "served-test-token-Zq81-pK7wN3vB9xT2mR5c"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def api_client(port: int, token: str = TOKEN) -> httpx.Client:
    return httpx.Client(
        base_url=f"http://127.0.0.1:{port}{API_PREFIX}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


class Controller:
    """``pbdeployer serve`` as its own process over one data dir."""

    def __init__(
        self, data_dir: Path, env: dict[str, str] | None = None, *, token: str | None = TOKEN
    ) -> None:
        """``token=None``: no ``PBDEPLOYER_API_TOKEN``, the server makes its own token file."""
        self.data_dir = data_dir
        self.env = env or {}
        self.token = token
        self.port = free_port()
        self.log = data_dir.parent / f"serve-{data_dir.name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> httpx.Client:
        env = {k: v for k, v in os.environ.items() if k != "PBDEPLOYER_API_TOKEN"}
        env |= {"PBDEPLOYER_DATA_DIR": str(self.data_dir)} | self.env
        if self.token is not None:
            env["PBDEPLOYER_API_TOKEN"] = self.token
        argv = [sys.executable, "-m", "pbdeployer", "serve", "--port", str(self.port)]
        with self.log.open("ab") as log:  # kept beside the data dir, for a failing test
            self.process = subprocess.Popen(argv, env=env, stdout=log, stderr=log)
        client = self._client()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if client.get("/health").status_code == 200:
                    return client
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError("pbdeployer serve did not come up")

    def _client(self) -> httpx.Client:
        if self.token is not None:
            return api_client(self.port, self.token)
        token_file = self.data_dir / "api-token"
        deadline = time.monotonic() + 60
        while not token_file.exists() or not token_file.read_text().endswith("\n"):
            assert time.monotonic() < deadline, "pbdeployer serve wrote no token"
            assert self.process is not None
            assert self.process.poll() is None, "pbdeployer serve stopped"
            time.sleep(0.1)
        return api_client(self.port, token_file.read_text().strip())

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)


class ServerThread:
    """An app under uvicorn in a thread of this process, on a socket of ours.

    ``send_buffer`` caps the kernel's send buffer of every accepted connection (they inherit
    it from the listening socket), so a client that stops reading blocks the server soon.
    """

    def __init__(self, app: Litestar, *, send_buffer: int | None = None) -> None:
        self.listener = socket.socket()
        if send_buffer is not None:
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
        self.listener.bind(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.listener]}, daemon=True
        )

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            assert self.thread.is_alive(), "uvicorn stopped at start-up"
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)
        self.listener.close()


class EventSocket:
    """One authenticated connection to ``/api/v1/ws``."""

    def __init__(self, port: int, token: str = TOKEN) -> None:
        self._stack = ExitStack()
        self.connection: ClientConnection = self._stack.enter_context(
            connect(
                f"ws://127.0.0.1:{port}{API_PREFIX}/ws",
                additional_headers={"Authorization": f"Bearer {token}"},
                max_queue=4,  # the client's own read-ahead, in messages
                compression=None,  # as many bytes on the wire as in the messages
            )
        )
        assert self.receive() == {"type": "ready"}

    def send(self, message: Json) -> None:
        self.connection.send(json.dumps(message))

    def receive(self, timeout: float = 30) -> Json:
        message: Json = json.loads(self.connection.recv(timeout))
        return message

    def subscribe(self, topic: str, after: int = 0, *, confirm: bool = False) -> None:
        """Subscribe; with ``confirm`` wait for the answer (nothing else may come first)."""
        self.send({"type": "subscribe", "topics": [{"topic": topic, "after": after}]})
        if confirm:
            assert self.receive() == {"type": "subscribed", "topic": topic, "after": after}

    def events(self, stop: Callable[[Json], bool], timeout: float = 120) -> list[Json]:
        """Events received (any topic, pings and control messages skipped) up to ``stop``."""
        deadline = time.monotonic() + timeout
        found: list[Json] = []
        while not found or not stop(found[-1]):
            message = self.receive(max(0.1, deadline - time.monotonic()))
            if message["type"] == "event":
                found.append(message["event"])
        return found

    def until_finished(self, timeout: float = 120) -> list[Json]:
        return self.events(lambda event: event["type"] == "task_finished", timeout)

    def by_topic(self, topics: Sequence[str], timeout: float = 120) -> dict[str, list[Json]]:
        """Events of each topic, until every one of them has had a ``task_finished``."""
        deadline = time.monotonic() + timeout
        found: dict[str, list[Json]] = {topic: [] for topic in topics}
        while not all(got and got[-1]["type"] == "task_finished" for got in found.values()):
            message = self.receive(max(0.1, deadline - time.monotonic()))
            if message["type"] == "event":
                found[message["topic"]].append(message["event"])
        return found

    def close(self) -> None:
        self._stack.close()


def wait_for(client: httpx.Client, task_id: str, done: set[str], limit: float) -> Json:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        task: Json = client.get(f"/tasks/{task_id}").json()
        if task["status"] in done:
            return task
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} never reached {done}")


def processes_under(path: Path) -> list[int]:
    """Live processes whose command line names ``path``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if str(path).encode() in cmdline:
                found.append(int(entry.name))
    return found
