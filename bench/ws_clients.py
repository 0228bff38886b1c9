"""WebSocket clients of ``/api/v1/ws`` in a process of their own, for ``bench/events.py``.

    python bench/ws_clients.py < spec.json

The spec: ``{"port", "token", "clients", "topic", "timeout"}``. Every client authenticates
with the header, subscribes to ``topic`` and, once all have their ``subscribed`` answer, the
process prints ``subscribed`` on a line of its own. Then each client takes events until the
task's ``task_finished`` (or until the server closes the socket, or ``timeout``), noting for
every ``log_line`` how long after its ``created`` it arrived. The last line printed is the JSON
result: per client the count of log lines and how the stream ended, and every latency (ms).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import datetime
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed


class Client:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.log_lines = 0
        self.ended = "timeout"

    async def open(self, spec: dict[str, Any]) -> ClientConnection:
        socket = await connect(
            f"ws://127.0.0.1:{spec['port']}/api/v1/ws",
            additional_headers={"Authorization": f"Bearer {spec['token']}"},
            max_queue=None,
        )
        await expect(socket, "ready")
        await socket.send(json.dumps({"type": "subscribe", "topics": [{"topic": spec["topic"]}]}))
        await expect(socket, "subscribed")
        return socket

    async def follow(self, socket: ClientConnection) -> None:
        try:
            async for text in socket:
                received = time.time()
                message = json.loads(text)
                if message["type"] != "event":
                    continue
                event = message["event"]
                if event["type"] == "log_line":
                    created = datetime.fromisoformat(event["created"]).timestamp()
                    self.latencies.append((received - created) * 1000)
                    self.log_lines += 1
                elif event["type"] == "task_finished":
                    self.ended = "finished"
                    return
        except ConnectionClosed as closed:
            self.ended = f"closed {closed.rcvd.code if closed.rcvd else '?'}"
        finally:
            await socket.close()


async def expect(socket: ClientConnection, kind: str) -> None:
    message = json.loads(await asyncio.wait_for(socket.recv(), 10))
    if message["type"] != kind:
        raise RuntimeError(f"expected {kind}, got {message}")


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    clients = [Client() for _ in range(spec["clients"])]
    sockets = await asyncio.gather(*(client.open(spec) for client in clients))
    print("subscribed", flush=True)
    cpu_before, started = os.times(), time.perf_counter()
    jobs = [asyncio.create_task(c.follow(s)) for c, s in zip(clients, sockets, strict=True)]
    await asyncio.wait(jobs, timeout=spec["timeout"])
    for job in jobs:
        job.cancel()
    await asyncio.gather(*jobs, return_exceptions=True)
    cpu_after = os.times()
    cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    return {
        "log_lines": [c.log_lines for c in clients],
        "ended": [c.ended for c in clients],
        "latencies_ms": [x for c in clients for x in c.latencies],
        "cpu_share": round(cpu / (time.perf_counter() - started), 2),
    }


def main() -> int:
    spec = json.load(sys.stdin)
    print(json.dumps(asyncio.run(run(spec))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
