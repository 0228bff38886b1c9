"""One repository per resource: the filters each list understands, plus a few special writes."""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from pbdeployer.models import (
    App,
    AppFilter,
    Deployment,
    PageRequest,
    Server,
    ServerFilter,
    Version,
    VersionFilter,
)
from pbdeployer.store import tables
from pbdeployer.store.repository import Repository


def _name_contains(column: ColumnElement[str], q: str) -> ColumnElement[bool]:
    return func.lower(column).contains(q.lower(), autoescape=True)


class ServerRepository(Repository[Server]):
    table = tables.servers
    model = Server
    noun = "server"

    async def list(self, flt: ServerFilter, request: PageRequest) -> tuple[list[Server], int]:
        where = [_name_contains(self.table.c.name, flt.q)] if flt.q else []
        return await self.page(request, where)

    async def by_name(self, name: str) -> Server | None:
        return await self.first(self.table.c.name == name)


class AppRepository(Repository[App]):
    table = tables.apps
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

    async def ports_on(self, server_id: str) -> set[int]:
        async with self.engine.connect() as conn:
            query = select(self.table.c.http_port).where(self.table.c.server_id == server_id)
            return set((await conn.execute(query)).scalars())

    async def remove_with_versions(self, app_id: str) -> None:
        """Delete an app, its versions and their deployment history in one transaction."""
        await self.get(app_id)
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(tables.deployments).where(tables.deployments.c.app_id == app_id)
            )
            await conn.execute(delete(tables.versions).where(tables.versions.c.app_id == app_id))
            await conn.execute(delete(self.table).where(self.table.c.id == app_id))


class VersionRepository(Repository[Version]):
    table = tables.versions
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


class DeploymentRepository(Repository[Deployment]):
    table = tables.deployments
    model = Deployment
    noun = "deployment"


class Store:
    """Every repository over one engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.servers = ServerRepository(engine)
        self.apps = AppRepository(engine)
        self.versions = VersionRepository(engine)
        self.deployments = DeploymentRepository(engine)
