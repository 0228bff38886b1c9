"""Deleting an app that has been on its host: a task takes its site and unit off the host
first, then deletes the record, so the domain stops answering with the app gone."""

from __future__ import annotations

from pbdeployer import plays
from pbdeployer.errors import InvalidInput
from pbdeployer.models.run import RunResult
from pbdeployer.models.tasks import Task, TaskKind
from pbdeployer.services.apps import AppService
from pbdeployer.services.runs import HostRuns
from pbdeployer.services.tasks import TaskContext, TaskHandler
from pbdeployer.store import Store


class AppRemoval:
    def __init__(self, store: Store, runs: HostRuns, apps: AppService) -> None:
        self._store = store
        self._runs = runs
        self._apps = apps

    def handlers(self) -> dict[TaskKind, TaskHandler]:
        return {TaskKind.APP_REMOVE: self._task}

    async def _task(self, task: Task, ctx: TaskContext) -> RunResult:
        if task.app_id is None:
            raise InvalidInput.single("app_id", "this kind of task needs it")
        app = await self._store.apps.get(task.app_id)
        server = await self._store.servers.get(app.server_id)
        result = await self._runs.run(plays.app_env.remove(app, server), server, ctx.on_run_event)
        await self._apps.delete(app.id, cascade=bool(task.params.get("cascade")))
        return result
