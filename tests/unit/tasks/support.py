"""Helpers shared by the task tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from pbdeployer.models.task_events import TaskEvent
from pbdeployer.services.task_runner import InProcessTaskQueue
from pbdeployer.services.tasks import TaskQueue

QueueFactory = Callable[..., Awaitable[InProcessTaskQueue]]


class Writes:
    """Counts statements that write task events, straight from the engine."""

    def __init__(self) -> None:
        self.event_inserts = 0
        self.commits = 0


async def collect(queue: TaskQueue, task_id: str, after_seq: int = 0) -> list[TaskEvent]:
    """Every event of the task after ``after_seq``, up to its end (bounded in time)."""

    async def gather() -> list[TaskEvent]:
        return [e async for e in queue.events(task_id, after_seq)]

    return await asyncio.wait_for(gather(), timeout=30)
