"""A task's events over the API's WebSocket: a dropped connection is resumed with ``after``,
with no gap and no duplicate, through a real proxy that cuts the first event stream short.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pbdeployer.console.remote import RemoteTarget
from pbdeployer.models.task_events import TaskFinished
from tests.served import TOKEN, Controller, api_client, free_port

pytestmark = pytest.mark.slow
CUT_AFTER_BYTES = 600
"""Server-to-client bytes the first WebSocket connection carries before the proxy cuts it."""


class CuttingProxy:
    """Forwards TCP to ``port``; the first WebSocket connection is closed after a few bytes."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.sockets = 0
        self._cut_one = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            first = client.recv(65536)
            upstream.sendall(first)
            limit = None
            if b"GET /api/v1/ws" in first:
                self.sockets += 1
                if not self._cut_one:
                    self._cut_one, limit = True, CUT_AFTER_BYTES
            threading.Thread(target=self._pipe, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, limit), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while data := source.recv(65536):
                if limit is not None and sent + len(data) > limit:
                    sink.sendall(data[: limit - sent])
                    break
                sink.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for end in (source, sink):
            end.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Controller]:
    controller = Controller(tmp_path / "data")
    client = controller.start()
    yield controller
    client.close()
    controller.stop()


def test_a_dropped_stream_resumes_after_the_last_event(served: Controller) -> None:
    with api_client(served.port) as client:
        nowhere = {"name": "nowhere", "host": "127.0.0.1", "port": free_port()}
        server = client.post("/servers", json=nowhere).json()
        task = client.post(f"/servers/{server['id']}/security/audit").json()
    proxy = CuttingProxy(served.port)

    async def collect() -> list[int]:
        remote = RemoteTarget(f"http://127.0.0.1:{proxy.port}", TOKEN)
        try:
            seqs = []
            async for event in remote.events(task["id"]):
                seqs.append(event.seq)
                last = event
            assert isinstance(last, TaskFinished)
            assert last.event_count == seqs[-1]
            return seqs
        finally:
            await remote.close()

    seqs = asyncio.run(collect())
    proxy.close()
    assert seqs == list(range(1, len(seqs) + 1))
    assert proxy.sockets >= 2, "the first stream was never cut"
