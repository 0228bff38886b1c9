"""``InProcessTaskQueue``: tasks run as asyncio tasks of this process, at most ``workers`` at once.

Bodies are async and the runner works in its own threads, so nothing here blocks the event
loop. Scheduling walks the queue in submission order: a task starts when a worker is free and,
if it is mutating, no other mutating task holds its server. Read-only tasks skip past a busy
server; mutating ones for that server keep their order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from pbdeployer.errors import Conflict, InvalidInput, PbDeployerError, RunCancelled
from pbdeployer.events import EventLog, task_topics
from pbdeployer.models.ids import new_id
from pbdeployer.models.task_events import TaskEvent, TaskFinished, TaskStatusChanged
from pbdeployer.models.tasks import (
    INTERRUPTED_MESSAGE,
    Task,
    TaskError,
    TaskKind,
    TaskSpec,
    TaskStatus,
)
from pbdeployer.services._typed import typed_inputs
from pbdeployer.services.tasks import TaskContext, TaskHandler, body_context
from pbdeployer.store.tasks import TaskRepository

log: logging.Logger = logging.getLogger(__name__)
CANCEL_WAIT_SECONDS = 3.0
"""After a cancel at shutdown, how long a body may take to stop before it is torn down
(and as long again for a torn-down body to end): ``stop`` returns within ``grace`` + 6 s."""
PROGRESS_SAVE_SECONDS = 1.0
"""How often a running task's percent and step, when they changed, are written to its row."""


class _Running:
    """A started task: ``job`` records it from start to end, ``body`` runs its handler."""

    def __init__(self, ctx: TaskContext) -> None:
        self.ctx = ctx
        self.job: asyncio.Task[None] | None = None
        self.body: asyncio.Task[object] | None = None
        self.saved = (0, "")
        """The percent and step last written to the task's row."""
        self.ending = False
        """The body is over: storage, not this object, tells the task's state from now on."""

    def interrupt(self, *, force: bool = False) -> None:
        """Ask the body to stop through its cancel hook, or cancel it outright."""
        if (not self.ctx.request_cancel() or force) and self.body is not None:
            self.body.cancel()


def _now() -> datetime:
    return datetime.now(UTC)


_CANCELLED = TaskError(code="cancelled", message="the task was cancelled")


def _outcome(
    body: asyncio.Task[object], ctx: TaskContext
) -> tuple[TaskStatus, TaskError | None, Any]:
    """The recorded end of a finished body: its result as JSON-able data, or why it failed."""
    if body.cancelled():
        return TaskStatus.CANCELLED, _CANCELLED, None
    exc = body.exception()
    if exc is None:
        try:
            return TaskStatus.SUCCEEDED, None, msgspec.to_builtins(body.result())
        except (TypeError, ValueError) as bad:
            exc = bad
    if isinstance(exc, RunCancelled):
        return TaskStatus.CANCELLED, _CANCELLED, None
    if isinstance(exc, PbDeployerError):
        return TaskStatus.FAILED, TaskError(code=exc.code, message=exc.message), None
    log.error("task %s crashed", ctx.task.id, exc_info=exc)
    message = f"the task stopped on an unexpected error ({type(exc).__name__}: {exc})"
    return TaskStatus.FAILED, TaskError(code="internal_error", message=message), None


@typed_inputs
class InProcessTaskQueue:
    """The embedded ``TaskQueue``: persisted tasks, asyncio workers, one event log."""

    def __init__(
        self,
        tasks: TaskRepository,
        event_log: EventLog,
        handlers: Mapping[TaskKind, TaskHandler],
        *,
        workers: int = 4,
        progress_interval: float = PROGRESS_SAVE_SECONDS,
    ) -> None:
        if workers < 1:
            raise InvalidInput.single("task_workers", "must be at least 1")
        self._tasks = tasks
        self._log = event_log
        self._handlers = dict(handlers)
        self._workers = workers
        self._queued: list[Task] = []
        self._running: dict[str, _Running] = {}
        self._busy_servers: set[str] = set()
        self._open = False
        self._progress_interval = progress_interval
        self._saver: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Mark tasks a stopped controller left running ``interrupted``; queue the rest."""
        self._log.start()
        for task in await self._tasks.with_status(TaskStatus.RUNNING):
            await self._log.resume(task.id)
            error = TaskError(code="interrupted", message=INTERRUPTED_MESSAGE)
            await self._record_end(task, TaskStatus.INTERRUPTED, error)
        for task in await self._tasks.with_status(TaskStatus.QUEUED):
            await self._log.resume(task.id)
            self._queued.append(task)
        self._open = True
        self._saver = asyncio.create_task(self._save_progress(), name="task-progress")
        self._dispatch()

    async def stop(self, grace: float = 30.0) -> None:
        """Start nothing more, let running tasks finish within ``grace``, cancel the rest.

        Queued tasks stay queued in storage and run when a queue starts again.
        """
        self._open = False
        self._queued.clear()
        await self._wait_running(grace)
        for running in list(self._running.values()):
            running.interrupt()
        await self._wait_running(CANCEL_WAIT_SECONDS)
        for running in list(self._running.values()):
            running.interrupt(force=True)
        await self._wait_running(CANCEL_WAIT_SECONDS)
        if self._saver is not None:
            self._saver.cancel()
            await asyncio.gather(self._saver, return_exceptions=True)
            self._saver = None
        await self._log.stop()

    async def submit(self, spec: TaskSpec) -> Task:
        """Persist a task as queued and start it when a worker (and its server) is free."""
        if not self._open:
            raise Conflict("the task queue is not running; start it or wait for the restart")
        if spec.kind not in self._handlers:
            raise InvalidInput.single("kind", f"no handler runs '{spec.kind}' tasks here")
        task = Task(
            id=new_id(),
            kind=spec.kind,
            status=TaskStatus.QUEUED,
            mutating=spec.mutating,
            server_id=spec.server_id,
            app_id=spec.app_id,
            deployment_id=spec.deployment_id,
            params=dict(spec.params),
            progress=0,
            step="",
            created=_now(),
            started_at=None,
            finished_at=None,
            error=None,
            result=None,
            event_count=0,
        )
        await self._tasks.add(task)
        self._emit_status(task)
        self._queued.append(task)
        self._dispatch()
        return task

    async def cancel(self, task_id: str) -> Task:
        """A queued task ends ``cancelled`` now; a running one is asked to stop."""
        for task in self._queued:
            if task.id == task_id:
                self._queued.remove(task)
                error = TaskError(code="cancelled", message="cancelled before it started")
                return await self._record_end(task, TaskStatus.CANCELLED, error)
        running = self._running.get(task_id)
        if running is None or running.ending:
            return await self._tasks.get(task_id)
        running.interrupt()
        return self._live(running)

    async def get(self, task_id: str) -> Task:
        """The task with its live progress while it runs, or ``NotFound``."""
        running = self._running.get(task_id)
        if running is not None and not running.ending:
            return self._live(running)
        return await self._tasks.get(task_id)

    async def events(self, task_id: str, after_seq: int = 0) -> AsyncIterator[TaskEvent]:
        """The task's events after ``after_seq``, stored then live, up to its final event."""
        await self.get(task_id)  # NotFound before anything else
        async for event in self._log.follow(task_id, after_seq):
            yield event

    @property
    def running_count(self) -> int:
        return len(self._running)

    def _live(self, running: _Running) -> Task:
        ctx = running.ctx
        return msgspec.structs.replace(ctx.task, progress=ctx.percent, step=ctx.step)

    def _dispatch(self) -> None:
        if not self._open:
            return
        for task in list(self._queued):
            if len(self._running) >= self._workers:
                return
            if task.mutating and task.server_id in self._busy_servers:
                continue
            self._queued.remove(task)
            self._launch(task)

    def _launch(self, task: Task) -> None:
        if task.mutating and task.server_id is not None:
            self._busy_servers.add(task.server_id)
        running = _Running(TaskContext(task, self._log))
        self._running[task.id] = running
        running.job = asyncio.create_task(self._execute(running), name=f"task-{task.id}")

    async def _execute(self, running: _Running) -> None:
        ctx = running.ctx
        task = ctx.task
        try:
            ctx.task = task = await self._begin(task)
            status, error, result = await self._call_body(running)
            running.ending = True
            ctx.task = msgspec.structs.replace(task, progress=ctx.percent, step=ctx.step)
            await self._record_end(ctx.task, status, error, result)
        except Exception:  # storage failed: keep the queue alive; recovery will tidy up
            log.exception("task %s could not be recorded", task.id)
        finally:
            self._running.pop(task.id, None)
            if task.mutating and task.server_id is not None:
                self._busy_servers.discard(task.server_id)
            self._dispatch()

    async def _begin(self, task: Task) -> Task:
        task = msgspec.structs.replace(task, status=TaskStatus.RUNNING, started_at=_now())
        await self._tasks.save(task)
        self._emit_status(task)
        return task

    async def _call_body(self, running: _Running) -> tuple[TaskStatus, TaskError | None, Any]:
        """Run the handler as its own asyncio task, so a cancel reaches the body alone."""
        ctx = running.ctx
        handler = self._handlers.get(ctx.task.kind)
        if handler is None:
            message = f"no handler runs '{ctx.task.kind}' tasks in this controller"
            return TaskStatus.FAILED, TaskError(code="no_handler", message=message), None
        if ctx.cancelled:
            return TaskStatus.CANCELLED, _CANCELLED, None
        body = asyncio.create_task(handler(ctx.task, ctx), context=body_context(ctx))
        running.body = body
        try:
            await asyncio.wait([body])
        except asyncio.CancelledError:  # the queue's own job is torn down: take the body along
            body.cancel()
            raise
        finally:
            ctx.close()
        return _outcome(body, ctx)

    async def _record_end(
        self, task: Task, status: TaskStatus, error: TaskError | None, result: Any = None
    ) -> Task:
        """Store the final row with the last events in one transaction, then publish them.

        A client that reads the finished row finds every event stored (``event_count`` of
        them); one told of the end by an event finds the row finished.
        """
        status_seq = self._log.next_seq(task.id)
        final_seq = self._log.next_seq(task.id)
        progress = 100 if status is TaskStatus.SUCCEEDED else task.progress
        task = msgspec.structs.replace(
            task, status=status, error=error, result=result, progress=progress,
            finished_at=_now(), event_count=final_seq,
        )  # fmt: skip
        stamp = _now()
        changed = TaskStatusChanged(
            task_id=task.id, seq=status_seq, created=stamp, status=status, error=error
        )
        finished = TaskFinished(
            task_id=task.id, seq=final_seq, created=stamp, status=status,
            event_count=final_seq, error=error,
        )  # fmt: skip
        await self._log.close_stream(task, [changed, finished])
        return task

    def _emit_status(self, task: Task) -> None:
        seq = self._log.next_seq(task.id)
        event = TaskStatusChanged(task_id=task.id, seq=seq, created=_now(), status=task.status)
        self._log.emit(event, task_topics(task))

    async def _save_progress(self) -> None:
        """Every interval, write the percent and step of running tasks that changed."""
        while True:
            await asyncio.sleep(self._progress_interval)
            changed = {
                task_id: (running.ctx.percent, running.ctx.step)
                for task_id, running in self._running.items()
                if (running.ctx.percent, running.ctx.step) != running.saved
            }
            try:
                await self._tasks.save_progress(changed)
            except Exception:  # a later round or the final save writes it
                log.exception("could not save the progress of tasks %s", sorted(changed))
                continue
            for task_id, saved in changed.items():
                if task_id in self._running:
                    self._running[task_id].saved = saved

    async def _wait_running(self, seconds: float) -> None:
        jobs = [r.job for r in self._running.values() if r.job is not None]
        if jobs:
            await asyncio.wait(jobs, timeout=seconds)
