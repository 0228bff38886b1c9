"""Deployment records and the per-app deploy lock."""

from __future__ import annotations

import builtins
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from pbdeployer.errors import DeploymentLocked
from pbdeployer.models import PageRequest
from pbdeployer.models.deployments import (
    Deployment,
    DeploymentFilter,
    DeploymentStatus,
    StatsFigures,
)
from pbdeployer.store import tables
from pbdeployer.store.deployment_stats import stats_figures
from pbdeployer.store.offloop import run_read
from pbdeployer.store.repository import Repository


class DeploymentRepository(Repository[Deployment]):
    table: Table = tables.deployments
    model = Deployment
    noun = "deployment"
    sort: tuple[str, ...] = ("created", "id")

    async def count_for_version(
        self, version_id: str, statuses: Collection[DeploymentStatus] | None = None
    ) -> int:
        """Deployments of a version, all of them or only those in ``statuses``."""
        where = [self.table.c.version_id == version_id]
        if statuses is not None:
            where.append(self.table.c.status.in_([status.value for status in statuses]))
        return await self.count(*where)

    async def list(
        self, flt: DeploymentFilter, request: PageRequest
    ) -> tuple[builtins.list[Deployment], int]:
        return await self.page(request, self._where(flt))

    async def all_matching(self, flt: DeploymentFilter) -> builtins.list[Deployment]:
        """Every deployment the filter selects, oldest first."""
        query = select(self.table).where(*self._where(flt)).order_by(self.table.c.id)
        async with self.engine.connect() as conn:
            return [self._to_model(row) for row in await conn.execute(query)]

    async def stats(
        self, since: datetime, until: datetime, app_id: str | None, apps: int
    ) -> StatsFigures:
        """Counts and percentiles of the window, overall and for the ``apps`` busiest apps.

        Computed by the database, off the event loop (``deployment_stats.py``).
        """
        return await run_read(
            self.engine, lambda conn: stats_figures(conn, since, until, app_id, apps)
        )

    async def with_status(
        self, statuses: Collection[DeploymentStatus]
    ) -> builtins.list[Deployment]:
        wanted = self.table.c.status.in_([status.value for status in statuses])
        query = select(self.table).where(wanted).order_by(self.table.c.id)
        async with self.engine.connect() as conn:
            return [self._to_model(row) for row in await conn.execute(query)]

    async def last_succeeded(self, app_id: str, before_id: str | None = None) -> Deployment | None:
        """The app's newest succeeded deployment (older than ``before_id`` when given)."""
        c = self.table.c
        where = [c.app_id == app_id, c.status == DeploymentStatus.SUCCEEDED.value]
        if before_id is not None:
            where.append(c.id < before_id)
        query = select(self.table).where(*where).order_by(c.id.desc()).limit(1)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else self._to_model(row)

    async def add_locked(self, deployment: Deployment) -> Deployment:
        """Store a new deployment and take its app's deploy lock, both or neither.

        ``DeploymentLocked`` names the deployment that holds the lock.
        """
        lock = tables.deploy_locks
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert(lock).values(
                        app_id=deployment.app_id,
                        deployment_id=deployment.id,
                        acquired_at=deployment.created,
                    )
                )
                await conn.execute(insert(self.table).values(**_values(deployment)))
        except IntegrityError as exc:
            holder = await self.lock_holder(deployment.app_id)
            raise DeploymentLocked(
                f"app '{deployment.app_id}' is being deployed by deployment '{holder}';"
                " wait for it to end or cancel it",
                holder=holder,
            ) from exc
        return deployment

    async def lock_holder(self, app_id: str) -> str | None:
        lock = tables.deploy_locks
        async with self.engine.connect() as conn:
            query = select(lock.c.deployment_id).where(lock.c.app_id == app_id)
            return (await conn.execute(query)).scalar_one_or_none()

    async def holding_locks(self) -> builtins.list[Deployment]:
        """Deployments that hold their app's deploy lock, whatever their status says."""
        lock = tables.deploy_locks
        held = select(lock.c.deployment_id)
        query = select(self.table).where(self.table.c.id.in_(held)).order_by(self.table.c.id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [self._to_model(row) for row in rows]

    async def save(self, deployment: Deployment) -> Deployment:
        values = _values(deployment)
        del values["id"]
        async with self.engine.begin() as conn:
            await conn.execute(
                update(self.table).where(self.table.c.id == deployment.id).values(values)
            )
        return deployment

    async def save_ended(self, deployment: Deployment) -> Deployment:
        """Write a deployment's final state and free its app's lock, in one transaction."""
        values = _values(deployment)
        del values["id"]
        lock = tables.deploy_locks
        async with self.engine.begin() as conn:
            await conn.execute(
                update(self.table).where(self.table.c.id == deployment.id).values(values)
            )
            await conn.execute(
                delete(lock).where(
                    lock.c.app_id == deployment.app_id, lock.c.deployment_id == deployment.id
                )
            )
        return deployment

    def _where(self, flt: DeploymentFilter) -> builtins.list[ColumnElement[bool]]:
        c = self.table.c
        where: builtins.list[ColumnElement[bool]] = []
        if flt.app_id is not None:
            where.append(c.app_id == flt.app_id)
        if flt.server_id is not None:
            where.append(c.server_id == flt.server_id)
        if flt.status is not None:
            where.append(c.status == flt.status.value)
        if flt.since is not None:
            where.append(c.created >= flt.since)
        if flt.until is not None:
            where.append(c.created <= flt.until)
        return where


def _values(deployment: Deployment) -> dict[str, object]:
    values: dict[str, object] = {
        field: getattr(deployment, field) for field in deployment.__struct_fields__
    }
    return values
