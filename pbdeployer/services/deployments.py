"""Deployments: deploy, roll back, cancel, follow and count them.

A deployment is a record plus the task that carries it out (``services/releases.py`` holds the
task bodies). Creating one takes the app's deploy lock in the same transaction, so a second
deploy or rollback of the app is refused with ``DeploymentLocked`` naming the holder; the lock
is released on every end: success, failure, cancel, and recovery after a crash.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import msgspec

from pbdeployer.errors import Conflict, InvalidInput, NotFound, PbDeployerError
from pbdeployer.models import App, AppStatus, Page, PageRequest, Version, make_page
from pbdeployer.models.deployments import (
    DEFAULT_STATS_APPS,
    MAX_STATS_APPS,
    Deployment,
    DeploymentFilter,
    DeploymentKind,
    DeploymentState,
    DeploymentStats,
    DeploymentStatus,
)
from pbdeployer.models.ids import new_id
from pbdeployer.models.task_events import TaskEvent
from pbdeployer.models.tasks import TaskKind, TaskSpec, TaskStatus
from pbdeployer.plays.deploy import release_name
from pbdeployer.services._typed import typed_inputs
from pbdeployer.services.deployment_stats import checked_window, deployment_stats, stats_window
from pbdeployer.services.paging import checked_page
from pbdeployer.services.tasks import TaskQueue
from pbdeployer.store import Store


def _now() -> datetime:
    return datetime.now(UTC)


def _by_creation(deployment: Deployment) -> tuple[str, ...]:
    """Deployments list in creation order (the window filters' column), then by id."""
    return (deployment.created.isoformat(), deployment.id)


@typed_inputs
class DeploymentService:
    """What callers do with deployments; the work itself runs as a task."""

    def __init__(self, store: Store, queue: TaskQueue) -> None:
        self._store = store
        self._queue = queue
        self._settled: dict[str, Deployment] = {}
        """Deployments ``settle_after_stop`` marked interrupted, for waiters while it closes."""

    async def deploy(self, app_id: str, version_id: str) -> Deployment:
        """Queue a deployment of ``version_id`` to the app; 409 while another one runs."""
        app = await self._store.apps.get(app_id)
        version = await self._deployable(app, version_id, "version_id")
        return await self._start(app, version, DeploymentKind.DEPLOY, snapshot_of=None)

    async def rollback(
        self, app_id: str, version_id: str | None = None, *, restore_data: bool = False
    ) -> Deployment:
        """Queue a return to ``version_id``, by default the release live before the current one.

        ``restore_data`` puts back the data snapshot taken just before the app left that
        version; the rollback is refused when no such snapshot exists.
        """
        if not isinstance(restore_data, bool):
            raise InvalidInput.single("restore_data", "must be true or false")
        app = await self._store.apps.get(app_id)
        if version_id is None:
            version_id = await self._previous_version(app)
        version = await self._deployable(app, version_id, "version_id")
        snapshot_of = await self._snapshot_source(app, version) if restore_data else None
        return await self._start(app, version, DeploymentKind.ROLLBACK, snapshot_of=snapshot_of)

    async def cancel(self, deployment_id: str) -> Deployment:
        """Stop a deployment: a queued one ends at once, a running one is put back safely."""
        deployment = await self._store.deployments.get(deployment_id)
        if not deployment.status.active or deployment.task_id is None:
            raise Conflict(f"deployment '{deployment_id}' already ended ({deployment.status})")
        task = await self._queue.cancel(deployment.task_id)
        if task.status is TaskStatus.CANCELLED and deployment.status is DeploymentStatus.QUEUED:
            return await self._end_unstarted(
                deployment,
                DeploymentStatus.CANCELLED,
                "cancelled before it started; nothing changed",
            )
        return await self.get(deployment_id)

    async def get(self, deployment_id: str) -> Deployment:
        """The deployment with its live progress while it runs, or ``NotFound``."""
        return await self._live(await self._store.deployments.get(deployment_id))

    async def list(
        self, flt: DeploymentFilter | None = None, page: PageRequest | None = None
    ) -> Page[Deployment]:
        """Deployments, oldest first, with a running one's live progress."""
        flt = flt or DeploymentFilter()
        request = checked_page(page or PageRequest())
        checked_window(flt.since, flt.until)
        items, total = await self._store.deployments.list(flt, request)
        live = [await self._live(d) for d in items]
        return make_page(live, request, total, _by_creation)

    async def status(self, deployment_id: str) -> DeploymentState:
        """Status, percent and step (live while it runs), timings and error."""
        deployment = await self.get(deployment_id)
        percent, step = deployment.progress, deployment.step
        queued = None
        if deployment.started_at is not None:
            queued = (deployment.started_at - deployment.created).total_seconds()
        return DeploymentState(
            id=deployment.id,
            status=deployment.status,
            percent=percent,
            step=step,
            created=deployment.created,
            started_at=deployment.started_at,
            completed_at=deployment.completed_at,
            queued_seconds=queued,
            duration_seconds=deployment.duration_seconds,
            error_code=deployment.error_code,
            error_message=deployment.error_message,
        )

    async def _live(self, deployment: Deployment) -> Deployment:
        """While it runs, progress and step are its task's; once ended, the record's.

        Every read (get, list, status) goes through here, so they always agree.
        """
        if not deployment.status.active or deployment.task_id is None:
            return deployment
        task = await self._queue.get(deployment.task_id)
        step = task.step or deployment.step
        return msgspec.structs.replace(deployment, progress=task.progress, step=step)

    async def stats(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        app_id: str | None = None,
        apps: int = DEFAULT_STATS_APPS,
    ) -> DeploymentStats:
        """Counts by status, success rate and p50/p95 duration, overall and for the ``apps``
        apps with the most deployments in the window (computed by the database)."""
        since, until = stats_window(since, until)
        if not 0 <= apps <= MAX_STATS_APPS:
            raise InvalidInput.single("apps", f"must be between 0 and {MAX_STATS_APPS}")
        figures = await self._store.deployments.stats(since, until, app_id, apps)
        return deployment_stats(figures, since, until)

    async def events(self, deployment_id: str, after_seq: int = 0) -> AsyncIterator[TaskEvent]:
        """The deployment's events after ``after_seq``, stored then live, to the final one."""
        deployment = await self._store.deployments.get(deployment_id)
        if deployment.task_id is None:
            raise NotFound(f"deployment '{deployment_id}' has no task yet")
        async for event in self._queue.events(deployment.task_id, after_seq):
            yield event

    async def wait(self, deployment_id: str) -> Deployment:
        """Follow the deployment to its end and return its final record (never an active one).

        A deployment whose task ended without recording its end (its ``Deployer`` closed
        meanwhile) is returned once ``close`` marked it ``interrupted``.
        """
        async for _ in self.events(deployment_id):
            pass
        deployment = await self._store.deployments.get(deployment_id)
        while deployment.status.active:
            await asyncio.sleep(_SETTLE_POLL_SECONDS)
            if deployment_id in self._settled:  # the database may be closing now
                return self._settled[deployment_id]
            deployment = await self._store.deployments.get(deployment_id)
        return deployment

    async def settle_after_stop(self) -> tuple[Deployment, ...]:
        """When the task queue stopped: a deployment left running is recorded ``interrupted``.

        It keeps its app's deploy lock, so the next start recovers the host (the app goes
        back on its previous release) before another deploy of that app can begin. A queued
        deployment stays queued and runs at the next start.
        """
        settled = []
        for deployment in await self._store.deployments.with_status([DeploymentStatus.RUNNING]):
            now = _now()
            interrupted = msgspec.structs.replace(
                deployment, status=DeploymentStatus.INTERRUPTED, updated=now, completed_at=now,
                step=DeploymentStatus.INTERRUPTED.value, error_code="interrupted",
                error_message=_CLOSED_MESSAGE,
            )  # fmt: skip
            settled.append(await self._store.deployments.save(interrupted))
            self._settled[interrupted.id] = interrupted
        return tuple(settled)

    async def recover_interrupted(self) -> None:
        """After a restart: deployments the old process left mid-way are finished safely.

        One that never reached its host ends ``interrupted`` and frees its lock; one that ran
        gets a ``deploy_recover`` task that puts the app back on its previous release.
        """
        active = [DeploymentStatus.QUEUED, DeploymentStatus.RUNNING]
        left = await self._store.deployments.with_status(active)
        closed = [  # interrupted by a close, still holding the lock: not recovered yet
            d
            for d in await self._store.deployments.holding_locks()
            if d.status is DeploymentStatus.INTERRUPTED
        ]
        for deployment in [*left, *closed]:
            task = None if deployment.task_id is None else await self._queue.get(deployment.task_id)
            if task is not None and not task.status.finished:
                continue  # still queued: it runs as usual
            if deployment.status is DeploymentStatus.QUEUED or task is None:
                await self._end_unstarted(
                    deployment, DeploymentStatus.INTERRUPTED,
                    "the controller stopped before this deployment started; nothing changed",
                )  # fmt: skip
                continue
            spec = msgspec.structs.replace(_task_spec(deployment), kind=TaskKind.DEPLOY_RECOVER)
            await self._queue.submit(spec)

    async def _start(
        self, app: App, version: Version, kind: DeploymentKind, snapshot_of: str | None
    ) -> Deployment:
        server = await self._store.servers.get(app.server_id)
        if not server.setup_complete:
            raise Conflict(
                f"server '{server.id}' is not set up yet; run its setup before deploying"
            )
        now = _now()
        deployment = Deployment(
            id=new_id(), created=now, updated=now, app_id=app.id, version_id=version.id,
            status=DeploymentStatus.QUEUED, logs="", started_at=None, completed_at=None,
            server_id=server.id, kind=kind, previous_version_id=app.current_version,
            release=release_name(version), restore_data=snapshot_of is not None,
            snapshot=snapshot_of,
        )  # fmt: skip
        await self._store.deployments.add_locked(deployment)
        try:
            task = await self._queue.submit(_task_spec(deployment))
        except PbDeployerError as exc:
            await self._end_unqueued(deployment, exc)
            raise
        deployment = msgspec.structs.replace(deployment, task_id=task.id)
        await self._store.deployments.save(deployment)
        await self._store.apps.change(app.id, {"status": AppStatus.DEPLOYING, "updated": now})
        return deployment

    async def _deployable(self, app: App, version_id: str, field: str) -> Version:
        try:
            version = await self._store.versions.get(version_id)
        except NotFound as exc:
            raise InvalidInput.single(field, exc.message) from exc
        if version.app_id != app.id:
            raise InvalidInput.single(field, f"version '{version_id}' belongs to another app")
        if version.zip_sha256 is None:
            raise InvalidInput.single(
                field, f"version '{version_id}' has no zip yet; upload one before deploying"
            )
        return version

    async def _previous_version(self, app: App) -> str:
        """The version live before the current one: the newest other succeeded deployment."""
        history = await self._store.deployments.with_status([DeploymentStatus.SUCCEEDED])
        for deployment in reversed(history):
            if deployment.app_id == app.id and deployment.version_id != app.current_version:
                return deployment.version_id
        raise Conflict(f"app '{app.id}' has no earlier successful release to roll back to")

    async def _snapshot_source(self, app: App, version: Version) -> str:
        """The deployment whose pre-switch snapshot holds the data of ``version``."""
        flt = DeploymentFilter(app_id=app.id)
        for deployment in reversed(await self._store.deployments.all_matching(flt)):
            left_it = deployment.previous_version_id == version.id
            if left_it and deployment.snapshot and deployment.status.took_effect:
                return deployment.id
        raise InvalidInput.single(
            "restore_data",
            f"no data snapshot was taken when the app left version '{version.version_number}'",
        )

    async def _end_unstarted(
        self, deployment: Deployment, status: DeploymentStatus, message: str
    ) -> Deployment:
        """A deployment that ended before its task ran: nothing touched the host."""
        now = _now()
        ended = msgspec.structs.replace(
            deployment, status=status, updated=now, completed_at=now,
            error_code=status.value, error_message=message,
        )  # fmt: skip
        await self._settle_app(ended)
        await self._store.deployments.save_ended(ended)
        return ended

    async def _end_unqueued(self, deployment: Deployment, exc: PbDeployerError) -> None:
        now = _now()
        failed = msgspec.structs.replace(
            deployment, status=DeploymentStatus.FAILED, updated=now, completed_at=now,
            error_code=exc.code, error_message=exc.message,
        )  # fmt: skip
        await self._store.deployments.save_ended(failed)

    async def _settle_app(self, deployment: Deployment) -> None:
        """An app whose deployment never started is as it was: running its current version."""
        app = await self._store.apps.get(deployment.app_id)
        status = AppStatus.RUNNING if app.current_version else AppStatus.NEW
        await self._store.apps.change(app.id, {"status": status, "updated": _now()})


_SETTLE_POLL_SECONDS = 0.2
_CLOSED_MESSAGE = (
    "the deployer closed during this deployment; its next start puts the app back on its "
    "previous release"
)


def _task_spec(deployment: Deployment) -> TaskSpec:
    kind = TaskKind.DEPLOY if deployment.kind is DeploymentKind.DEPLOY else TaskKind.ROLLBACK
    return TaskSpec(
        kind=kind,
        mutating=True,
        server_id=deployment.server_id,
        app_id=deployment.app_id,
        deployment_id=deployment.id,
    )
