"""Host operations as tasks: check the request, queue the task, and wait for live reads.

Anything that changes a host is queued and returned at once. Reads of live host state (unit
status, journal lines) run as read-only tasks too, and the caller waits for them up to
``READ_TIMEOUT_SECONDS``; past that the task is cancelled and ``RunTimeout`` is raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec

from pbdeployer.errors import (
    Conflict,
    HostKeyChanged,
    HostUnreachable,
    InvalidInput,
    NotFound,
    PbDeployerError,
    RunCancelled,
    RunFailed,
    RunTimeout,
)
from pbdeployer.models import (
    App,
    AppFilter,
    AppStatus,
    AuditReport,
    LogLine,
    Page,
    PageRequest,
    UnitStatus,
    make_page,
)
from pbdeployer.models.app_env import AppEnvUpdate
from pbdeployer.models.common import MAX_PER_PAGE
from pbdeployer.models.task_events import TaskEvent
from pbdeployer.models.tasks import Task, TaskFilter, TaskKind, TaskSpec, TaskStatus
from pbdeployer.services._typed import typed_inputs
from pbdeployer.services.app_env import AppEnvironment
from pbdeployer.services.apps import AppService
from pbdeployer.services.paging import checked_page
from pbdeployer.services.security import SecurityService
from pbdeployer.services.servers import ServerService
from pbdeployer.services.tasks import MUTATING_KINDS, TaskQueue
from pbdeployer.store import TaskEventRepository, TaskRepository
from pbdeployer.validation import check_package_name, check_port, checked_list, checked_moments

MAX_EVENTS_PER_READ = 1000
READ_TIMEOUT_SECONDS = 60.0
"""How long a read of live host state may take, queueing included, before it answers 504."""

T = TypeVar("T")
_ERRORS: dict[str, type[PbDeployerError]] = {
    cls.code: cls
    for cls in (NotFound, Conflict, RunFailed, HostUnreachable, HostKeyChanged, RunCancelled)
}


class AuditWithAge(msgspec.Struct, frozen=True, kw_only=True):
    """The latest stored audit report and how old it is."""

    report: AuditReport
    age_seconds: float


def _task_error(task: Task) -> PbDeployerError:
    """The error a failed read task stands for, so it maps to the same HTTP status."""
    code = task.error.code if task.error else "run_failed"
    message = task.error.message if task.error else f"task '{task.id}' did not succeed"
    if code == InvalidInput.code:
        return InvalidInput.single("params", message)
    error = _ERRORS.get(code, RunFailed)(message)
    error.code = code
    return error


@typed_inputs
class HostTasks:
    """Host operations as tasks: checks the request, queues the task, waits for reads."""

    def __init__(
        self,
        *,
        servers: ServerService,
        apps: AppService,
        security: SecurityService,
        queue: TaskQueue,
        records: TaskRepository,
        events: TaskEventRepository,
        read_timeout: float = READ_TIMEOUT_SECONDS,
        env: AppEnvironment | None = None,
    ) -> None:
        self._env = env
        self._servers = servers
        self._apps_service = apps
        self._security = security
        self._records = records
        self._events = events
        self.queue = queue
        self.read_timeout = read_timeout

    async def list_tasks(
        self, flt: TaskFilter | None = None, page: PageRequest | None = None
    ) -> Page[Task]:
        """Stored tasks, oldest first (a running task's progress is the queue's to tell)."""
        request = checked_page(page or PageRequest())
        items, total = await self._records.list(flt or TaskFilter(), request)
        return make_page(items, request, total)

    async def stored_events(self, task_id: str, after: int, limit: int) -> list[TaskEvent]:
        """Up to ``limit`` of the task's stored events with ``seq`` above ``after``."""
        await self.queue.get(task_id)
        return await self._events.after(task_id, after, limit)

    async def setup(self, server_id: str, packages: Sequence[str], *, proxy: bool = False) -> Task:
        """``proxy`` installs the proxy now; it is installed anyway once an app has a domain."""
        extra = checked_list("packages", packages, check_package_name)
        params = {"extra_packages": extra, "proxy": proxy}
        return await self._submit(TaskKind.SETUP, server_id, params=params)

    async def setup_user(self, server_id: str) -> Task:
        """Queue the app user's setup as a background task."""
        return await self._submit(TaskKind.SETUP_USER, server_id)

    async def setup_packages(self, server_id: str, packages: Sequence[str]) -> Task:
        """Queue a package install as a background task."""
        extra = checked_list("packages", packages, check_package_name)
        return await self._submit(
            TaskKind.SETUP_PACKAGES, server_id, params={"extra_packages": extra}
        )

    async def lockdown(self, server_id: str, extra_ports: Sequence[int]) -> Task:
        """Queue a lockdown (``extra_ports`` stay open) as a background task."""
        ports = checked_list("extra_ports", extra_ports, check_port)
        return await self._submit(TaskKind.LOCKDOWN, server_id, params={"extra_ports": ports})

    async def audit(self, server_id: str) -> Task:
        """Queue a read-only security audit as a background task."""
        return await self._submit(TaskKind.AUDIT, server_id)

    async def latest_audit(self, server_id: str) -> AuditWithAge:
        """The server's last audit report and how old it is."""
        report = await self._security.latest_audit(server_id)
        age = (datetime.now(UTC) - report.created).total_seconds()
        return AuditWithAge(report=report, age_seconds=round(max(age, 0.0), 3))

    async def control(self, server_id: str, name: str, action: str) -> Task:
        """Queue a start/stop/restart... of a managed unit as a background task."""
        app = await self._app(server_id, name)
        return await self._submit(
            TaskKind.SERVICE_CONTROL, server_id, app.id, params={"action": action}
        )

    async def units(self, server_id: str) -> list[UnitStatus]:
        """Every unit pbdeployer manages on the server, read now."""
        apps = await self._apps(server_id)
        reads = [self._read(TaskKind.SERVICE_STATUS, app, {}, UnitStatus) for app in apps]
        return list(await asyncio.gather(*reads))

    async def unit(self, server_id: str, name: str) -> UnitStatus:
        """One managed unit of the server, read now."""
        app = await self._app(server_id, name)
        return await self._read(TaskKind.SERVICE_STATUS, app, {}, UnitStatus)

    async def logs(
        self, server_id: str, name: str, lines: int, since: datetime | None
    ) -> list[LogLine]:
        """A managed unit's latest journal lines, read now."""
        checked_moments(since=since)
        app = await self._app(server_id, name)
        params = {"lines": lines, "since": since.isoformat() if since else None}
        return await self._read(TaskKind.SERVICE_LOGS, app, params, list[LogLine])

    async def serve_site(self, app_id: str) -> Task:
        """Queue the task that writes the app's site for its domain (or removes it)."""
        app = await self._apps_service.get(app_id)
        return await self._submit(TaskKind.PROXY_SITE, app.server_id, app.id)

    async def delete_app(self, app_id: str, *, cascade: bool = False) -> Task | None:
        """Delete the app: at once when it never reached its host (None), else queue the task
        that takes its site and unit off the host and then deletes it."""
        app = await self._apps_service.get(app_id)
        if app.status is AppStatus.NEW:
            await self._apps_service.delete(app_id, cascade=cascade)
            return None
        await self._apps_service.ensure_not_deploying(app_id)
        versions = await self._apps_service.version_count(app_id)
        if versions and not cascade:
            raise Conflict(
                f"app '{app_id}' has {versions} version(s); delete them or pass cascade=true"
            )
        return await self._submit(
            TaskKind.APP_REMOVE, app.server_id, app.id, params={"cascade": cascade}
        )

    async def set_env(self, app_id: str, update: AppEnvUpdate) -> Task:
        """Store the app's variables, then queue the task that writes them on its host and
        restarts the app through the health check (only writes them when not deployed)."""
        if self._env is None:
            raise Conflict("this controller keeps no app environments")
        app = await self._apps_service.get(app_id)
        rows = await self._env.prepare(app_id, update)
        server = await self._servers.get(app.server_id)
        if not server.setup_complete:
            raise Conflict(f"server '{server.id}' is not set up yet; run setup first")
        await self._env.store(app_id, rows)
        return await self._submit(TaskKind.APP_ENV, app.server_id, app.id)

    async def _submit(
        self,
        kind: TaskKind,
        server_id: str,
        app_id: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> Task:
        await self._servers.get(server_id)
        spec = TaskSpec(
            kind=kind,
            mutating=kind in MUTATING_KINDS,
            server_id=server_id,
            app_id=app_id,
            params=params or {},
        )
        return await self.queue.submit(spec)

    async def _apps(self, server_id: str) -> list[App]:
        await self._servers.get(server_id)
        page = await self._apps_service.list(
            AppFilter(server_id=server_id), PageRequest(per_page=MAX_PER_PAGE)
        )
        return page.items

    async def _app(self, server_id: str, name: str) -> App:
        """The app whose unit is ``name`` on the server."""
        for app in await self._apps(server_id):
            if app.service_name == name:
                return app
        raise NotFound(f"server '{server_id}' runs no service named '{name}'")

    async def _read(self, kind: TaskKind, app: App, params: dict[str, Any], into: type[T]) -> T:
        """Run a read-only task and return its result, or 504 once it takes too long."""
        task = await self._submit(kind, app.server_id, app.id, params)
        try:
            async with asyncio.timeout(self.read_timeout):
                async for _ in self.queue.events(task.id):
                    pass
        except TimeoutError:
            await self.queue.cancel(task.id)
            raise RunTimeout(
                f"the host did not answer within {self.read_timeout:g} s; "
                f"task '{task.id}' was cancelled — try again when the host is less busy"
            ) from None
        done = await self.queue.get(task.id)
        if done.status is not TaskStatus.SUCCEEDED:
            raise _task_error(done)
        return msgspec.convert(done.result, into)
