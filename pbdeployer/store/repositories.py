"""One repository per resource: the filters each list understands, plus a few special writes."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from pbdeployer.errors import Conflict, DeploymentLocked, NotFound
from pbdeployer.models import (
    App,
    AppFilter,
    DeploymentStatus,
    PageRequest,
    Server,
    ServerFilter,
    Version,
    VersionFilter,
)
from pbdeployer.store import tables
from pbdeployer.store.app_env import AppEnvRepository
from pbdeployer.store.audits import AuditRepository
from pbdeployer.store.deployments import DeploymentRepository
from pbdeployer.store.events import TaskEventRepository
from pbdeployer.store.repository import Repository
from pbdeployer.store.tasks import TaskRepository


def _name_contains(column: ColumnElement[str], q: str) -> ColumnElement[bool]:
    return func.lower(column).contains(q.lower(), autoescape=True)


class ServerRepository(Repository[Server]):
    table: Table = tables.servers
    model = Server
    noun = "server"

    async def list(self, flt: ServerFilter, request: PageRequest) -> tuple[list[Server], int]:
        where = [_name_contains(self.table.c.name, flt.q)] if flt.q else []
        return await self.page(request, where)

    async def by_name(self, name: str) -> Server | None:
        return await self.first(self.table.c.name == name)


class AppRepository(Repository[App]):
    table: Table = tables.apps
    model = App
    noun = "app"

    async def list(self, flt: AppFilter, request: PageRequest) -> tuple[list[App], int]:
        c = self.table.c
        where: list[ColumnElement[bool]] = []
        if flt.server_id is not None:
            where.append(c.server_id == flt.server_id)
        if flt.status is not None:
            where.append(c.status == flt.status.value)
        if flt.q:
            where.append(_name_contains(c.name, flt.q))
        return await self.page(request, where)

    async def count_on_server(self, server_id: str) -> int:
        return await self.count(self.table.c.server_id == server_id)

    async def by_name(self, name: str) -> App | None:
        return await self.first(self.table.c.name == name)

    async def clash_on_server(
        self, server_id: str, column: str, value: object, skip_id: str = ""
    ) -> bool:
        """Whether another app on the server already uses ``value`` in ``column``."""
        c = self.table.c
        found = await self.first(c.server_id == server_id, c[column] == value, c.id != skip_id)
        return found is not None

    async def paths_on(self, server_id: str) -> tuple[tuple[str, str, str], ...]:
        """``(id, name, remote_path)`` of every app on the server."""
        c = self.table.c
        async with self.engine.connect() as conn:
            query = select(c.id, c.name, c.remote_path).where(c.server_id == server_id)
            return tuple((row.id, row.name, row.remote_path) for row in await conn.execute(query))

    async def ports_on(self, server_id: str) -> set[int]:
        async with self.engine.connect() as conn:
            query = select(self.table.c.http_port).where(self.table.c.server_id == server_id)
            return set((await conn.execute(query)).scalars())

    async def remove_with_versions(self, app_id: str) -> set[str]:
        """Delete an app, its versions and their deployment history in one transaction.

        Returns the sha256 of every zip those versions held, for the caller to release.
        """
        await self.get(app_id)
        versions = tables.versions
        async with self.engine.begin() as conn:
            held = select(versions.c.zip_sha256).where(
                versions.c.app_id == app_id, versions.c.zip_sha256.is_not(None)
            )
            zips = set((await conn.execute(held)).scalars())
            locks = tables.deploy_locks
            holder = select(locks.c.deployment_id).where(locks.c.app_id == app_id)
            if (busy := (await conn.execute(holder)).scalar_one_or_none()) is not None:
                raise DeploymentLocked(
                    f"app '{app_id}' is being deployed by deployment '{busy}'; wait or cancel it",
                    holder=busy,
                )
            await conn.execute(
                delete(tables.deployments).where(tables.deployments.c.app_id == app_id)
            )
            await conn.execute(delete(tables.versions).where(tables.versions.c.app_id == app_id))
            await conn.execute(delete(self.table).where(self.table.c.id == app_id))
        return zips


class VersionRepository(Repository[Version]):
    table: Table = tables.versions
    model = Version
    noun = "version"

    async def list(self, flt: VersionFilter, request: PageRequest) -> tuple[list[Version], int]:
        where = [self.table.c.app_id == flt.app_id] if flt.app_id is not None else []
        return await self.page(request, where)

    async def count_for_app(self, app_id: str) -> int:
        return await self.count(self.table.c.app_id == app_id)

    async def by_number(self, app_id: str, number: str) -> Version | None:
        c = self.table.c
        return await self.first(c.app_id == app_id, c.version_number == number)

    async def count_with_zip(self, sha256: str) -> int:
        """How many versions share the stored zip ``sha256``."""
        return await self.count(self.table.c.zip_sha256 == sha256)

    async def remove_unless_deploying(
        self, version_id: str, active: Collection[DeploymentStatus]
    ) -> None:
        """Delete a version and its finished deployments, in one transaction.

        Refused while it is an app's current version or a deployment of it is in an
        ``active`` state; checking inside the same transaction keeps a deployment finished or
        queued meanwhile from losing its version.
        """
        runs = tables.deployments
        mine = runs.c.version_id == version_id
        busy = mine & runs.c.status.in_([status.value for status in active])
        live = tables.apps.c.current_version == version_id
        async with self.engine.begin() as conn:
            serving = select(func.count()).select_from(tables.apps).where(live)
            if (await conn.execute(serving)).scalar_one():
                raise Conflict(f"version '{version_id}' is its app's current version")
            counter = select(func.count()).select_from(runs).where(busy)
            if (await conn.execute(counter)).scalar_one():
                raise Conflict(
                    f"version '{version_id}' is in use by a queued or running deployment"
                )
            await conn.execute(delete(runs).where(mine))
            gone = await conn.execute(delete(self.table).where(self.table.c.id == version_id))
        if gone.rowcount == 0:
            raise NotFound(f"version '{version_id}' does not exist")


class Store:
    """Every repository over one engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.audits: AuditRepository = AuditRepository(engine)
        self.tasks: TaskRepository = TaskRepository(engine)
        self.task_events: TaskEventRepository = TaskEventRepository(engine)
        self.servers: ServerRepository = ServerRepository(engine)
        self.apps: AppRepository = AppRepository(engine)
        self.app_env: AppEnvRepository = AppEnvRepository(engine)
        self.versions: VersionRepository = VersionRepository(engine)
        self.deployments: DeploymentRepository = DeploymentRepository(engine)
