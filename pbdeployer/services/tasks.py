"""Tasks: the interface callers use to run host operations in the background.

``TaskQueue`` is all services and the API see. ``InProcessTaskQueue`` (``task_runner.py``)
implements it with asyncio workers in this process; a queue engine shared by several processes
can replace it without touching callers, because a task is data (``TaskSpec``: a kind and
JSON-able params) and its body is looked up by kind (``TaskHandler``) wherever it runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from contextvars import Context, ContextVar, copy_context
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import msgspec

from pbdeployer.errors import InvalidInput
from pbdeployer.events import EventLog, task_topics
from pbdeployer.models import AuditReport, LogLine, Server, UnitStatus
from pbdeployer.models.run import PlaybookInvocation, RunEvent, RunResult, TaskStarted
from pbdeployer.models.task_events import (
    ServerStatus,
    ServiceStatus,
    TaskEvent,
    TaskProgress,
    from_run_event,
)
from pbdeployer.models.tasks import Task, TaskKind, TaskSpec
from pbdeployer.plays.service import ServiceAction
from pbdeployer.services.runs import EventCallback, HostRuns
from pbdeployer.services.security import SecurityService
from pbdeployer.services.service import ServiceControl
from pbdeployer.services.setup import SetupService

CancelHook = Callable[[], None]


class TaskContext:
    """What a task body gets: report progress and runner events, and learn of a cancel.

    ``on_run_event`` fits the services' ``on_event`` callbacks. A body that starts something
    cancellable registers how to stop it with ``set_cancel``; ``TaskRuns`` does that for runs.
    """

    def __init__(self, task: Task, log: EventLog) -> None:
        self.task = task
        self.percent: int = 0
        self.step: str = ""
        self._log = log
        self._topics = task_topics(task)
        self._cancel_hook: CancelHook | None = None
        self._cancelled = False
        self._closed = False

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def next_seq(self) -> int:
        """The next event number; 0 once the body has ended (its late events are dropped)."""
        return 0 if self._closed else self._log.next_seq(self.task.id)

    def emit(self, event: TaskEvent) -> None:
        """Record an event built with ``seq=ctx.next_seq()`` (server or service status ...)."""
        if not self._closed:
            self._log.emit(event, self._topics)

    def close(self) -> None:
        """The body has ended: drop whatever it still reports, the stream is final."""
        self._closed = True
        self._cancel_hook = None

    def on_run_event(self, event: RunEvent) -> None:
        if self._closed:
            return
        if isinstance(event, TaskStarted):
            self.step = event.task  # the task's step is the Ansible task now under way
        self.emit(from_run_event(self.task.id, self.next_seq(), event))

    def progress(self, percent: int, step: str = "") -> None:
        if self._closed:
            return
        self.percent = max(0, min(100, percent))
        self.step = step or self.step
        self.emit(
            TaskProgress(
                task_id=self.task.id,
                seq=self.next_seq(),
                created=_now(),
                percent=self.percent,
                step=self.step,
            )
        )

    def set_cancel(self, callback: CancelHook | None) -> None:
        """Register (or with ``None`` drop) how to stop the body's current work."""
        self._cancel_hook = callback
        if callback is not None and self._cancelled:
            callback()

    def request_cancel(self) -> bool:
        """Flag the task cancelled and call the hook; ``False`` when no hook was set."""
        self._cancelled = True
        if self._cancel_hook is None:
            return False
        self._cancel_hook()
        return True


TaskHandler = Callable[[Task, TaskContext], Coroutine[Any, Any, object]]
"""A task body: runs ``task`` (its ``params``), returns a JSON-able (or msgspec) result."""

_current: ContextVar[TaskContext | None] = ContextVar("pbdeployer_task", default=None)


def current_task_context() -> TaskContext | None:
    """The context of the task body running in this asyncio task, if any."""
    return _current.get()


def body_context(ctx: TaskContext) -> Context:
    """A copy of the caller's context in which ``ctx`` is current: run a task body in it."""
    context = copy_context()
    context.run(_current.set, ctx)
    return context


class TaskRuns(HostRuns):
    """``HostRuns`` that lets a task's cancel stop the run it is waiting for.

    Inside a task body the run's ``cancel`` becomes the task's cancel hook, and runner events
    reach the task's stream even when the service passed no ``on_event``.
    """

    async def run(
        self,
        invocation: PlaybookInvocation,
        server: Server,
        on_event: EventCallback | None = None,
    ) -> RunResult:
        ctx = current_task_context()
        if ctx is None:
            return await super().run(invocation, server, on_event)
        handle = self._runner.start(invocation, [server], self._credentials)
        ctx.set_cancel(handle.cancel)
        try:
            return await self._follow(handle, server, on_event or ctx.on_run_event)
        finally:
            ctx.set_cancel(None)

    async def run_to_end(
        self,
        invocation: PlaybookInvocation,
        server: Server,
        on_event: EventCallback | None = None,
    ) -> RunResult:
        """Run without the task's cancel: the clean-up a cancel itself asked for must finish."""
        ctx = current_task_context()
        fallback = ctx.on_run_event if ctx is not None else None
        return await super().run(invocation, server, on_event or fallback)


class TaskQueue(Protocol):
    """Background execution of tasks, persisted, with a replayable event stream per task."""

    async def start(self) -> None:
        """Recover what a previous process left, then begin running queued tasks."""
        ...

    async def stop(self, grace: float) -> None:
        """Take no more tasks, give running ones ``grace`` seconds, then cancel them."""
        ...

    async def submit(self, spec: TaskSpec) -> Task:
        """Queue a task and return it at once (status ``queued``)."""
        ...

    async def cancel(self, task_id: str) -> Task:
        """Cancel a queued task at once, or ask a running one to stop."""
        ...

    async def get(self, task_id: str) -> Task: ...

    def events(self, task_id: str, after_seq: int = 0) -> AsyncIterator[TaskEvent]:
        """Events after ``after_seq``: stored ones, then live, ending with ``TaskFinished``."""
        ...


def _now() -> datetime:
    return datetime.now(UTC)


MUTATING_KINDS = frozenset(
    {
        TaskKind.SETUP,
        TaskKind.SETUP_USER,
        TaskKind.SETUP_PACKAGES,
        TaskKind.LOCKDOWN,
        TaskKind.SERVICE_CONTROL,
        TaskKind.DEPLOY,
        TaskKind.ROLLBACK,
        TaskKind.DEPLOY_RECOVER,
        TaskKind.PROXY_SITE,
        TaskKind.APP_ENV,
        TaskKind.APP_REMOVE,
    }
)
"""Kinds that change their server: one of them at a time per server."""


class _Packages(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    extra_packages: list[str] = msgspec.field(default_factory=list)
    proxy: bool = False


class _Ports(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    extra_ports: list[int] = msgspec.field(default_factory=list)


class _Control(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    action: ServiceAction


class _Logs(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    lines: int = 100
    since: datetime | None = None


P = TypeVar("P", bound=msgspec.Struct)


def _params(task: Task, kind: type[P]) -> P:
    try:
        return msgspec.convert(task.params, kind)
    except msgspec.ValidationError as exc:
        raise InvalidInput.single("params", str(exc)) from exc


def _target(value: str | None, field: str) -> str:
    if value is None:
        raise InvalidInput.single(field, "this kind of task needs it")
    return value


class OperationHandlers:
    """Task bodies for the host operations the services already offer, keyed by kind."""

    def __init__(self, setup: SetupService, security: SecurityService, units: ServiceControl):
        self._setup = setup
        self._security = security
        self._units = units

    def handlers(self) -> dict[TaskKind, TaskHandler]:
        return {
            TaskKind.SETUP: self.setup,
            TaskKind.SETUP_USER: self.setup_user,
            TaskKind.SETUP_PACKAGES: self.setup_packages,
            TaskKind.LOCKDOWN: self.lockdown,
            TaskKind.AUDIT: self.audit,
            TaskKind.SERVICE_STATUS: self.service_status,
            TaskKind.SERVICE_CONTROL: self.service_control,
            TaskKind.SERVICE_LOGS: self.service_logs,
        }

    async def setup(self, task: Task, ctx: TaskContext) -> RunResult:
        server_id = _target(task.server_id, "server_id")
        params = _params(task, _Packages)
        result = await self._setup.setup(
            server_id, params.extra_packages, ctx.on_run_event, proxy=params.proxy
        )
        _server_status(ctx, server_id, setup_complete=True)
        return result

    async def setup_user(self, task: Task, ctx: TaskContext) -> RunResult:
        return await self._setup.setup_user(_target(task.server_id, "server_id"), ctx.on_run_event)

    async def setup_packages(self, task: Task, ctx: TaskContext) -> RunResult:
        server_id = _target(task.server_id, "server_id")
        packages = _params(task, _Packages).extra_packages
        return await self._setup.setup_packages(server_id, packages, ctx.on_run_event)

    async def lockdown(self, task: Task, ctx: TaskContext) -> RunResult:
        server_id = _target(task.server_id, "server_id")
        ports = _params(task, _Ports).extra_ports
        result = await self._security.lockdown(server_id, ports, ctx.on_run_event)
        _server_status(ctx, server_id, security_locked=True)
        return result

    async def audit(self, task: Task, ctx: TaskContext) -> AuditReport:
        return await self._security.audit(_target(task.server_id, "server_id"), ctx.on_run_event)

    async def service_status(self, task: Task, ctx: TaskContext) -> UnitStatus:
        status = await self._units.status(_target(task.app_id, "app_id"))
        ctx.emit(
            ServiceStatus(
                task_id=task.id, seq=ctx.next_seq(), created=_now(), app_id=status.app_id,
                unit=status.unit, active_state=status.active_state, sub_state=status.sub_state,
            )
        )  # fmt: skip
        return status

    async def service_control(self, task: Task, ctx: TaskContext) -> RunResult:
        action = _params(task, _Control).action
        return await self._units.control(_target(task.app_id, "app_id"), action, ctx.on_run_event)

    async def service_logs(self, task: Task, ctx: TaskContext) -> list[LogLine]:
        asked = _params(task, _Logs)
        return await self._units.logs(_target(task.app_id, "app_id"), asked.lines, asked.since)


def _server_status(ctx: TaskContext, server_id: str, **flags: bool) -> None:
    ctx.emit(
        ServerStatus(
            task_id=ctx.task.id, seq=ctx.next_seq(), created=_now(), server_id=server_id,
            reachable=True, **flags,
        )
    )  # fmt: skip
