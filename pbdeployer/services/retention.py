"""Retention: how long task events are kept, applied in the background or on demand.

Policy (``Settings.event_retention_days``, 0 keeps everything): the stored events of a task
that ended more than that many days ago are removed; the task and deployment records stay
as summaries (status, timings, error, ``event_count``). Queued and running tasks are never
touched, nor any deployment record, so a live release's snapshot is always still named.
Events are removed a task at a time in short transactions, so the API keeps answering;
freed pages are reused by new events, and ``vacuum`` gives them back to the file system.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from pbdeployer.errors import InvalidInput
from pbdeployer.models.retention import RetentionReport
from pbdeployer.store import Store
from pbdeployer.store.offloop import vacuum as vacuum_file

log = logging.getLogger(__name__)
TASKS_PER_ROUND = 200
EVENTS_PER_DELETE = 5_000


class RetentionService:
    def __init__(self, store: Store, days: int, interval_seconds: float) -> None:
        self._store = store
        self.days = days
        self.interval_seconds = interval_seconds
        self._loop: asyncio.Task[None] | None = None

    async def run(
        self, *, days: int | None = None, vacuum: bool = False, now: datetime | None = None
    ) -> RetentionReport:
        """Apply the policy once (``days`` overrides the setting); the report says what went."""
        keep = self.days if days is None else days
        if keep < 0:
            raise InvalidInput.single("days", "must be 0 (keep everything) or more")
        cutoff = None if keep == 0 else (now or datetime.now(UTC)) - timedelta(days=keep)
        tasks = events = 0
        while cutoff is not None:
            found = await self._store.task_events.prunable(cutoff, TASKS_PER_ROUND)
            for task_id, last in found:
                events += await self._prune(task_id, last)
            tasks += len(found)
            if len(found) < TASKS_PER_ROUND:
                break
        vacuumed = await vacuum_file(self._store.task_events.engine) if vacuum else False
        return RetentionReport(
            cutoff=cutoff, tasks_pruned=tasks, events_removed=events, vacuumed=vacuumed
        )

    async def _prune(self, task_id: str, last: int) -> int:
        removed = 0
        for upto in range(EVENTS_PER_DELETE, last + EVENTS_PER_DELETE, EVENTS_PER_DELETE):
            removed += await self._store.task_events.remove_through(task_id, min(upto, last))
            await asyncio.sleep(0)  # let requests in between batches
        return removed

    def start(self) -> None:
        """Run the policy every ``interval_seconds`` in the background (when it removes any)."""
        if self.days > 0 and self._loop is None:
            self._loop = asyncio.create_task(self._every_interval())

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None

    async def _every_interval(self) -> None:
        while True:
            try:
                report = await self.run()
                if report.events_removed:
                    log.info("retention removed %d events of %d tasks",
                             report.events_removed, report.tasks_pruned)  # fmt: skip
            except Exception:
                log.exception("retention run failed; trying again next interval")
            await asyncio.sleep(self.interval_seconds)
