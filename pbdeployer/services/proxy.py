"""Each app's site on its server's proxy, brought in line with the app's domain as a task."""

from __future__ import annotations

from pbdeployer import plays
from pbdeployer.errors import InvalidInput
from pbdeployer.models.run import RunResult
from pbdeployer.models.tasks import Task, TaskKind
from pbdeployer.services._typed import typed_inputs
from pbdeployer.services.runs import EventCallback, HostRuns
from pbdeployer.services.tasks import TaskContext, TaskHandler
from pbdeployer.store import Store


@typed_inputs
class ProxySites:
    """Writes an app's site when it has a domain and removes it when it has none, so a
    changed or dropped domain never leaves the proxy serving the old one."""

    def __init__(self, store: Store, runs: HostRuns, acme_email: str | None) -> None:
        self._store = store
        self._runs = runs
        self._acme_email = acme_email

    async def apply(self, app_id: str, on_event: EventCallback | None = None) -> RunResult:
        app = await self._store.apps.get(app_id)
        server = await self._store.servers.get(app.server_id)
        invocation = (
            plays.proxy.site(app, self._acme_email) if app.domain else plays.proxy.remove_site(app)
        )
        return await self._runs.run(invocation, server, on_event)

    def handlers(self) -> dict[TaskKind, TaskHandler]:
        return {TaskKind.PROXY_SITE: self._task}

    async def _task(self, task: Task, ctx: TaskContext) -> RunResult:
        if task.app_id is None:
            raise InvalidInput.single("app_id", "this kind of task needs it")
        return await self.apply(task.app_id, ctx.on_run_event)
