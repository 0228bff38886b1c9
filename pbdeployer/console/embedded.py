"""The embedded target: the ``Deployer`` facade on a local data dir, for one command.

The data dir is held only while the command runs. Tasks run in this process, so a command
that starts one follows it to its end before the deployer is closed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path

from pbdeployer.deployer import Deployer
from pbdeployer.models import (
    App,
    AppCreate,
    AppFilter,
    LogLine,
    Page,
    PageRequest,
    Server,
    ServerCreate,
    ServerFilter,
    UnitStatus,
    Version,
    VersionCreate,
    VersionFilter,
)
from pbdeployer.models.deployments import Deployment, DeploymentFilter
from pbdeployer.models.task_events import TaskEvent
from pbdeployer.models.tasks import Task, TaskFilter, TaskStatus
from pbdeployer.services import AuditWithAge
from pbdeployer.settings import Settings


class EmbeddedTarget:
    def __init__(self, deployer: Deployer) -> None:
        self._d = deployer
        self.where: str = f"data dir {deployer.settings.data_dir}"

    @classmethod
    async def open(cls, settings: Settings) -> EmbeddedTarget:
        deployer = Deployer.open(settings)
        await deployer.start()
        return cls(deployer)

    async def close(self) -> None:
        await self._d.close()

    async def servers(self, page: PageRequest) -> Page[Server]:
        return await self._d.servers.list(ServerFilter(), page)

    async def server(self, server_id: str) -> Server:
        return await self._d.servers.get(server_id)

    async def add_server(self, data: ServerCreate) -> Server:
        return await self._d.servers.create(data)

    async def apps(self, page: PageRequest, server_id: str | None = None) -> Page[App]:
        return await self._d.apps.list(AppFilter(server_id=server_id), page)

    async def app(self, app_id: str) -> App:
        return await self._d.apps.get(app_id)

    async def add_app(self, data: AppCreate) -> App:
        return await self._d.apps.create(data)

    async def versions(self, page: PageRequest, app_id: str | None = None) -> Page[Version]:
        return await self._d.versions.list(VersionFilter(app_id=app_id), page)

    async def version(self, version_id: str) -> Version:
        return await self._d.versions.get(version_id)

    async def add_version(self, data: VersionCreate, zip_path: Path) -> Version:
        return await self._d.versions.create_with_zip(data, zip_path)

    async def setup(self, server_id: str, packages: Sequence[str]) -> Task:
        return await self._d.operations.setup(server_id, packages)

    async def lockdown(self, server_id: str, extra_ports: Sequence[int]) -> Task:
        return await self._d.operations.lockdown(server_id, extra_ports)

    async def audit(self, server_id: str) -> Task:
        return await self._d.operations.audit(server_id)

    async def latest_audit(self, server_id: str) -> AuditWithAge:
        return await self._d.operations.latest_audit(server_id)

    async def deploy(self, app_id: str, version_id: str) -> Deployment:
        return await self._d.deployments.deploy(app_id, version_id)

    async def rollback(self, app_id: str, version_id: str | None) -> Deployment:
        return await self._d.deployments.rollback(app_id, version_id)

    async def deployment(self, deployment_id: str) -> Deployment:
        return await self._d.deployments.get(deployment_id)

    async def deployments(self, page: PageRequest, app_id: str | None) -> Page[Deployment]:
        return await self._d.deployments.list(DeploymentFilter(app_id=app_id), page)

    async def cancel_deployment(self, deployment_id: str) -> Deployment:
        return await self._d.deployments.cancel(deployment_id)

    async def tasks(self, page: PageRequest, status: TaskStatus | None) -> Page[Task]:
        return await self._d.operations.list_tasks(TaskFilter(status=status), page)

    async def task(self, task_id: str) -> Task:
        return await self._d.tasks.get(task_id)

    async def cancel_task(self, task_id: str) -> Task:
        return await self._d.tasks.cancel(task_id)

    async def events(self, task_id: str, after: int = 0) -> AsyncIterator[TaskEvent]:
        async for event in self._d.tasks.events(task_id, after):
            yield event

    async def unit(self, server_id: str, name: str) -> UnitStatus:
        return await self._d.operations.unit(server_id, name)

    async def logs(
        self, server_id: str, name: str, lines: int, since: datetime | None
    ) -> list[LogLine]:
        return await self._d.operations.logs(server_id, name, lines, since)
