"""A small closed-loop HTTP/1.1 load generator: keep-alive connections, one request in flight each.

Run as its own process so the client's work never shares the server's event loop::

    python bench/loadgen.py < spec.json > result.json

The spec (JSON on stdin) names the target and what to send::

    {"port": 8080, "connections": 32, "warmup": 2, "seconds": 8, "token": "...",
     "method": "GET", "paths": ["/api/v1/servers?page=1", ...],
     "body": null | "unique-server" | "port", "tag": "load-a"}

Every connection walks ``paths`` from its own offset. ``body`` makes each request's JSON body:
``unique-server`` a server with a name never used before, ``port`` a random SSH port. Plain
asyncio protocols and byte templates keep the client's cost per request to a few microseconds,
so one process drives a single-process server to its limit; the result says how much CPU the
client itself used, to show it was not the bottleneck. The answer (JSON on stdout) holds the
counts by status and every latency (ms) measured after the warm-up.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

BodyMaker = Callable[[], bytes]


def body_maker(kind: str | None, tag: str) -> BodyMaker | None:
    if kind is None:
        return None
    if kind == "unique-server":
        counter = itertools.count(1)
        prefix = f"{tag}-{os.getpid()}"
        return lambda: (
            b'{"name":"%s-%d","host":"203.0.113.10"}'
            % (
                prefix.encode(),
                next(counter),
            )
        )
    if kind == "port":
        return lambda: b'{"port":%d}' % random.randint(1024, 65535)
    raise ValueError(f"unknown body kind {kind!r}")


class Shared:
    """What every connection writes into: the window's start and end, latencies, statuses."""

    def __init__(self, measure_from: float, stop_at: float) -> None:
        self.measure_from = measure_from
        self.stop_at = stop_at
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []
        self.done = 0


class Connection(asyncio.Protocol):
    """One keep-alive connection sending the next request as soon as the answer is whole."""

    def __init__(
        self,
        heads: list[bytes],
        make_body: BodyMaker | None,
        shared: Shared,
        finished: asyncio.Future[None],
    ) -> None:
        self.heads = heads
        self.make_body = make_body
        self.shared = shared
        self.finished = finished
        self.index = random.randrange(len(heads))
        self.buffer = bytearray()
        self.expect = -1
        self.status = 0
        self.started = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.send()

    def send(self) -> None:
        assert self.transport is not None
        head = self.heads[self.index]
        self.index = (self.index + 1) % len(self.heads)
        if self.make_body is None:
            request = head + b"\r\n"
        else:
            body = self.make_body()
            request = head + b"Content-Length: %d\r\n\r\n" % len(body) + body
        self.started = time.perf_counter()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self._answer_complete():
            self._record()

    def _answer_complete(self) -> bool:
        if self.expect < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return False
            head = bytes(self.buffer[:end]).lower()
            self.status = int(head[9:12])
            start = head.find(b"content-length:")
            if start < 0:
                raise RuntimeError(f"an answer without Content-Length: {head[:200]!r}")
            stop = head.find(b"\r\n", start)
            length = int(head[start + 15 : stop if stop > 0 else len(head)])
            del self.buffer[: end + 4]
            self.expect = length
        return len(self.buffer) >= self.expect

    def _record(self) -> None:
        now = time.perf_counter()
        shared = self.shared
        if self.status >= 300 and len(shared.failures) < 5:
            shared.failures.append(
                bytes(self.buffer[: self.expect][:300]).decode("utf-8", "replace")
            )
        del self.buffer[: self.expect]
        self.expect = -1
        if self.started >= shared.measure_from:
            shared.latencies.append((now - self.started) * 1000)
            shared.statuses[self.status] += 1
        if now >= shared.stop_at:
            if self.transport is not None:
                self.transport.close()
            return
        self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None and time.perf_counter() < self.shared.stop_at:
            self.shared.failures.append(f"connection lost: {exc}")
        if not self.finished.done():
            self.finished.set_result(None)


def request_heads(spec: dict[str, Any]) -> list[bytes]:
    """Request lines and headers, up to (not including) the blank line that ends them."""
    method = spec.get("method", "GET")
    host = f"127.0.0.1:{spec['port']}"
    headers = f"Host: {host}\r\nUser-Agent: pbdeployer-bench\r\n"
    if spec.get("token"):
        headers += f"Authorization: Bearer {spec['token']}\r\n"
    if spec.get("body"):
        headers += "Content-Type: application/json\r\n"
    return [f"{method} {path} HTTP/1.1\r\n{headers}".encode() for path in spec["paths"]]


def _factory(
    heads: list[bytes], maker: BodyMaker | None, shared: Shared, finished: asyncio.Future[None]
) -> Callable[[], Connection]:
    return lambda: Connection(heads, maker, shared, finished)


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    heads = request_heads(spec)
    start = time.perf_counter()
    shared = Shared(start + spec["warmup"], start + spec["warmup"] + spec["seconds"])
    cpu_before = os.times()
    waits = []
    maker = body_maker(spec.get("body"), spec.get("tag", "load"))  # one counter: unique names
    for _ in range(spec["connections"]):
        finished: asyncio.Future[None] = loop.create_future()
        await loop.create_connection(
            _factory(heads, maker, shared, finished), "127.0.0.1", spec["port"]
        )
        waits.append(finished)
    await asyncio.wait_for(asyncio.gather(*waits), spec["warmup"] + spec["seconds"] + 30)
    cpu_after = os.times()
    cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    elapsed = time.perf_counter() - start
    return {
        "latencies_ms": shared.latencies,
        "statuses": {str(k): v for k, v in shared.statuses.items()},
        "failures": shared.failures,
        "seconds": spec["seconds"],
        "client_cpu_share": round(cpu / elapsed, 3),
    }


def main() -> int:
    spec = json.load(sys.stdin)
    result = asyncio.run(run(spec))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
