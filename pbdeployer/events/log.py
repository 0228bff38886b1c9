"""The event log of tasks: numbering, batched persistence, publication and replay.

The hot path (``emit``) only appends to a list: a background consumer writes
what piled up every ``flush_interval`` seconds, or sooner once ``batch_size`` events wait, in
one transaction, and publishes each event only after it is stored. Because of that order a
follower can subscribe, read storage, then take live events above the last stored ``seq``
without a gap or a duplicate, whichever process published them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

import msgspec

from pbdeployer.events.publisher import Publisher
from pbdeployer.models.task_events import TaskEvent, TaskFinished
from pbdeployer.models.tasks import Task
from pbdeployer.store.events import TaskEventRepository

log: logging.Logger = logging.getLogger(__name__)
_decoder = msgspec.json.Decoder(TaskEvent)
REPLAY_CHUNK = 500
"""Stored events read per query while replaying a stream."""


def task_topics(task: Task) -> tuple[str, ...]:
    """Every topic an event of ``task`` is published to."""
    topics = ["tasks", f"task:{task.id}"]
    if task.server_id:
        topics.append(f"server:{task.server_id}")
    if task.app_id:
        topics.append(f"app:{task.app_id}")
    if task.deployment_id:
        topics.append(f"deployment:{task.deployment_id}")
    return tuple(topics)


class EventLog:
    """Numbers, stores and publishes task events; ``start`` it before the first ``emit``."""

    def __init__(
        self,
        events: TaskEventRepository,
        publisher: Publisher,
        *,
        flush_interval: float = 0.05,
        batch_size: int = 200,
    ) -> None:
        self.events = events
        self.publisher = publisher
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self._seqs: dict[str, int] = {}
        self._pending: list[tuple[TaskEvent, tuple[str, ...]]] = []
        self._full = asyncio.Event()
        self._lock = asyncio.Lock()
        self._consumer: asyncio.Task[None] | None = None

    def next_seq(self, task_id: str) -> int:
        """The ``seq`` for the task's next event (1 for a task never seen)."""
        seq = self._seqs.get(task_id, 0) + 1
        self._seqs[task_id] = seq
        return seq

    async def resume(self, task_id: str) -> None:
        """Continue a task's numbering after what storage holds (a task from a past process)."""
        if task_id not in self._seqs:
            self._seqs[task_id] = await self.events.last_seq(task_id)

    def forget(self, task_id: str) -> None:
        self._seqs.pop(task_id, None)

    def emit(self, event: TaskEvent, topics: Sequence[str]) -> None:
        """Queue one event for storage, then publication; cheap enough for every runner event."""
        self._pending.append((event, tuple(topics)))
        if len(self._pending) >= self.batch_size:
            self._full.set()

    async def flush(self) -> None:
        """Store everything emitted so far in one transaction, then publish it."""
        async with self._lock:
            await self._write()

    async def close_stream(self, task: Task, last: Sequence[TaskEvent]) -> None:
        """End a task's stream: store ``last``, all that waits and the task's final row, publish.

        Events and row go in one transaction, so whoever reads the row finished finds every
        event stored, and whoever is told of the end by an event finds the row finished.
        ``last`` joins the batch only under the lock: no other flush publishes it before.
        """
        topics = task_topics(task)
        async with self._lock:
            self._pending.extend((event, topics) for event in last)
            self.forget(task.id)
            batch, self._pending = self._pending, []
            self._full.clear()
            try:
                await self.events.add_many([event for event, _ in batch], final=task)
            finally:  # a failure is the caller's to report; the stream stays live all the same
                self._publish(batch)

    async def _write(self) -> None:
        batch, self._pending = self._pending, []
        self._full.clear()
        if not batch:
            return
        try:
            await self.events.add_many([event for event, _ in batch])
        except Exception:  # the stream stays live; the lost rows only shorten replay
            log.exception("could not store %d task events", len(batch))
        self._publish(batch)

    def _publish(self, batch: Sequence[tuple[TaskEvent, tuple[str, ...]]]) -> None:
        for event, topics in batch:
            self.publisher.publish(msgspec.json.encode(event), topics)

    def start(self) -> None:
        if self._consumer is None:
            self._consumer = asyncio.create_task(self._consume(), name="task-event-log")

    async def stop(self) -> None:
        """Stop the consumer and store what is left."""
        if self._consumer is not None:
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consumer
            self._consumer = None
        await self.flush()

    async def _consume(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self.flush_interval)
            await self.flush()

    async def follow(self, task_id: str, after_seq: int = 0) -> AsyncIterator[TaskEvent]:
        """Stored events after ``after_seq``, then live ones, until ``TaskFinished``.

        Stored events are read ``REPLAY_CHUNK`` at a time, so replaying a long stream holds
        one chunk in memory, not the stream.
        """
        subscription = await self.publisher.subscribe([f"task:{task_id}"])
        try:
            last = after_seq
            while True:
                chunk = await self.events.after(task_id, last, REPLAY_CHUNK)
                for event in chunk:
                    last = event.seq
                    yield event
                    if isinstance(event, TaskFinished):
                        return
                if len(chunk) < REPLAY_CHUNK:
                    break
            async for data in subscription.messages():
                event = _decoder.decode(data)
                if event.seq <= last:
                    continue
                last = event.seq
                yield event
                if isinstance(event, TaskFinished):
                    return
        finally:
            await subscription.close()
