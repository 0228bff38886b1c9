"""The library's front door: one object that opens the database and exposes every service."""

from __future__ import annotations

import os
from types import TracebackType

from pbdeployer.artifacts import BlobStore
from pbdeployer.events import EventLog, MemoryPublisher, Publisher
from pbdeployer.models.run import RunCredentials
from pbdeployer.runner import Runner
from pbdeployer.services import (
    AppService,
    DeploymentService,
    HealthService,
    HostTasks,
    InProcessTaskQueue,
    OperationHandlers,
    ProxySites,
    ReleaseHandlers,
    SecurityService,
    ServerService,
    ServiceControl,
    SetupService,
    TaskRuns,
    VersionService,
    VersionZips,
    ZipPolicy,
)
from pbdeployer.settings import Settings
from pbdeployer.store import Database, Store


class Deployer:
    """Async facade over pbdeployer's services.

    Use ``async with Deployer.open(settings) as deployer:``. From synchronous code, wrap the
    calls in one coroutine and run it with ``asyncio.run(...)``.
    """

    def __init__(self, settings: Settings, database: Database) -> None:
        self.settings = settings
        self.database = database
        store = Store(database.engine)
        self.servers = ServerService(store)
        self.blobs = BlobStore(settings.blobs_dir, min_free_bytes=settings.storage_min_free_bytes)
        zips = VersionZips(self.blobs, store.versions, ZipPolicy.from_settings(settings))
        self.apps = AppService(store, zips)
        self.versions = VersionService(store, zips)
        self.runner = Runner(settings)
        runs = TaskRuns(self.runner, RunCredentials.from_environ(os.environ))
        self.health = HealthService(settings, database, self.runner, runs)
        self.setup = SetupService(store, runs)
        self.security = SecurityService(store, runs)
        self.services = ServiceControl(store, runs)
        self.publisher: Publisher = MemoryPublisher()
        self.event_log = EventLog(store.task_events, self.publisher)
        handlers = OperationHandlers(self.setup, self.security, self.services).handlers()
        handlers |= ReleaseHandlers.from_settings(store, runs, self.blobs, settings).handlers()
        self.sites = ProxySites(store, runs, settings.acme_email)
        handlers |= self.sites.handlers()
        self.tasks = InProcessTaskQueue(
            store.tasks, self.event_log, handlers, workers=settings.task_workers
        )
        self.operations = HostTasks(
            servers=self.servers,
            apps=self.apps,
            security=self.security,
            queue=self.tasks,
            records=store.tasks,
            events=store.task_events,
        )
        self.deployments = DeploymentService(store, self.tasks)

    def use_publisher(self, publisher: Publisher) -> None:
        """Fan task events out through ``publisher`` (the API's channels); call before ``start``."""
        self.publisher = publisher
        self.event_log.publisher = publisher

    @classmethod
    def open(cls, settings: Settings | None = None) -> Deployer:
        """Build a deployer; the database is migrated when it is entered (or ``start``-ed)."""
        settings = settings or Settings.from_env()
        return cls(settings, Database(settings.sqlalchemy_url))

    async def start(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        await self.database.open()
        self.blobs.sweep_tmp()  # uploads a crashed process left half-received
        self.runner.reap_orphans()  # ansible and ssh processes a crashed controller left
        await self.tasks.start()  # marks tasks a crash left running as interrupted
        await self.deployments.recover_interrupted()  # and puts their apps back on a release

    async def close(self) -> None:
        await self.tasks.stop(self.settings.task_stop_grace_seconds)
        self.runner.cancel_all()
        await self.database.close()

    async def __aenter__(self) -> Deployer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
