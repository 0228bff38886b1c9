"""Fan-out of encoded events to topic subscribers, behind a protocol any backend can meet.

The library ships ``MemoryPublisher`` for one process. The API adapts Litestar's channels plugin
(memory, Redis or PostgreSQL backends) to the same two methods when several processes share
the work, so nothing below ``api/`` imports Litestar.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Protocol


class Subscription(Protocol):
    """Messages published to the subscribed topics after ``subscribe`` returned, in order."""

    def messages(self) -> AsyncIterator[bytes]: ...

    async def close(self) -> None: ...


class Publisher(Protocol):
    def publish(self, data: bytes, topics: Sequence[str]) -> None:
        """Hand ``data`` to every subscriber of any of ``topics`` (once each); never blocks."""
        ...

    async def subscribe(self, topics: Sequence[str]) -> Subscription: ...


class _MemorySubscription:
    def __init__(self, owner: MemoryPublisher, topics: Sequence[str]) -> None:
        self._owner = owner
        self.topics: tuple[str, ...] = tuple(topics)
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    async def messages(self) -> AsyncIterator[bytes]:
        while True:
            yield await self.queue.get()

    async def close(self) -> None:
        self._owner.drop(self)


class MemoryPublisher:
    """In-process topics; each subscriber has its own unbounded queue."""

    def __init__(self) -> None:
        self._topics: dict[str, set[_MemorySubscription]] = {}

    def publish(self, data: bytes, topics: Sequence[str]) -> None:
        receivers: dict[int, _MemorySubscription] = {}
        for topic in topics:
            for sub in self._topics.get(topic, ()):
                receivers[id(sub)] = sub
        for sub in receivers.values():
            sub.queue.put_nowait(data)

    async def subscribe(self, topics: Sequence[str]) -> Subscription:
        sub = _MemorySubscription(self, topics)
        for topic in sub.topics:
            self._topics.setdefault(topic, set()).add(sub)
        return sub

    def drop(self, sub: _MemorySubscription) -> None:
        for topic in sub.topics:
            subs = self._topics.get(topic)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._topics[topic]

    def subscriber_count(self, topic: str) -> int:
        return len(self._topics.get(topic, ()))
