"""The library's front door: one object that opens the database and exposes every service."""

from __future__ import annotations

import asyncio
import logging
import os
from types import TracebackType
from typing import Any

from pbdeployer.artifacts import BlobStore
from pbdeployer.errors import ReadOnlyDeployer, WrongEventLoop
from pbdeployer.events import EventLog, MemoryPublisher, Publisher
from pbdeployer.models.run import RunCredentials
from pbdeployer.runner import Runner
from pbdeployer.services import (
    AppEnvironment,
    AppRemoval,
    AppService,
    DataDirLock,
    DeploymentService,
    HealthService,
    HostTasks,
    InProcessTaskQueue,
    OperationHandlers,
    ProxySites,
    ReleaseHandlers,
    RetentionService,
    SecretBox,
    SecurityService,
    ServerService,
    ServiceControl,
    SetupService,
    TaskRuns,
    VersionService,
    VersionZips,
    ZipPolicy,
    make_private,
)
from pbdeployer.settings import Settings
from pbdeployer.store import Database, Store

CLOSE_CANCEL_SECONDS = 6.0
"""The most ``close`` waits for cancelled tasks to end, after the grace period."""

# What a read-only Deployer may call: reads of the database and the zip store, nothing that
# writes, queues a task or runs Ansible (those belong to the process that owns the data dir).
_READS: dict[str, frozenset[str]] = {
    "servers": frozenset({"get", "list"}),
    "apps": frozenset({"get", "list"}),
    "env": frozenset({"get"}),
    "versions": frozenset({"get", "list", "stored_zip", "read_zip", "download"}),
    "blobs": frozenset({"path", "exists", "size", "read_range"}),
    "deployments": frozenset({"get", "list", "status", "stats"}),
    "operations": frozenset({"list_tasks", "stored_events", "latest_audit"}),
    "tasks": frozenset({"get"}),
    "security": frozenset({"latest_audit"}),
    "health": frozenset({"report"}),
    "setup": frozenset(),
    "services": frozenset(),
    "runner": frozenset(),
    "retention": frozenset(),
}


_log: logging.Logger = logging.getLogger(__name__)


class Deployer:
    """Async facade over pbdeployer's services.

    Use ``async with Deployer.open(settings) as deployer:``. From synchronous code, use
    ``SyncDeployer`` (its own loop in a thread); a ``Deployer`` belongs to the event loop it
    started on. Starting one takes the data
    dir's lock (``DataDirLocked`` while another process holds it); ``read_only=True`` takes
    none and only reads.

    Services (each an attribute; see its own ``help``):

    - servers: the hosts apps are deployed to (create, list, get, update, delete)
    - apps: a PocketBase app on one server (port, remote path, unit, domain)
    - versions: labelled builds of an app and their zips (create_with_zip, upload, download)
    - deployments: deploy, rollback, cancel, wait, events and stats (background tasks)
    - setup: direct host operation: the app user and packages
    - security: direct host operations: lockdown and audit
    - services: direct host operations on an app's systemd unit (status, control, logs)
    - operations: the same host operations as background tasks, cancellable by id
    - tasks: the task queue (get, cancel, events)
    - health: the control plane's and a server's health
    - runner: the Ansible runner beneath them all, usable without the database

    A direct host operation runs while it is awaited: cancelling the await (or an
    ``on_event`` callback raising) stops its Ansible run.
    """

    settings: Settings
    """What this deployer was opened with (data dir, timeouts, workers)."""
    database: Database
    """The store's database connection; opened by ``start``, closed by ``close``."""
    read_only: bool
    """True when opened with ``read_only=True``: reads only, no lock, no workers."""
    servers: ServerService
    """Servers: create, list, get, update and delete the hosts apps are deployed to."""
    apps: AppService
    """Apps: a PocketBase app on one server (port, remote path, unit name, domain)."""
    versions: VersionService
    """Versions: labelled builds of an app and their zips."""
    blobs: BlobStore
    """The content-addressed store holding the versions' zips."""
    runner: Runner
    """Runs Ansible playbooks; the DB-less layer beneath the services."""
    health: HealthService
    """Health of the control plane (database, Ansible) and of a server over SSH."""
    setup: SetupService
    """Direct host operations: full setup, the app user, packages."""
    security: SecurityService
    """Direct host operations: lockdown and audit, and the latest audit report."""
    services: ServiceControl
    """Direct host operations on an app's systemd unit: status, start/stop/restart, logs."""
    publisher: Publisher
    """Where task events are fanned out to subscribers (memory unless the API swaps it)."""
    event_log: EventLog
    """Persists task events for replay and publishes them."""
    sites: ProxySites
    """The reverse proxy's site per app with a domain."""
    tasks: InProcessTaskQueue
    """The queue and workers that run host operations in the background."""
    operations: HostTasks
    """Host operations as background tasks (setup, lockdown, audit, services), cancellable."""
    deployments: DeploymentService
    """Deploy, rollback, cancel, wait and stats of deployments."""
    retention: RetentionService
    """The history's retention policy: prunes old task events in the background, or now."""

    def __init__(self, settings: Settings, database: Database, *, read_only: bool = False) -> None:
        self.settings = settings
        self.database = database
        self.read_only = read_only
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = DataDirLock(settings.data_dir)
        store = Store(database.engine)
        self.servers = ServerService(store)
        self.blobs = BlobStore(settings.blobs_dir, min_free_bytes=settings.storage_min_free_bytes)
        zips = VersionZips(self.blobs, store.versions, ZipPolicy.from_settings(settings))
        self.apps = AppService(store, zips)
        self.versions = VersionService(store, zips)
        self.runner = Runner(settings)
        runs = TaskRuns(self.runner, RunCredentials.from_environ(os.environ))
        self.health = HealthService(settings, database, self.runner, runs)
        self.setup = SetupService(store, runs, settings.acme_email)
        self.security = SecurityService(store, runs)
        self.services = ServiceControl(store, runs)
        self.publisher = MemoryPublisher()
        self.event_log = EventLog(store.task_events, self.publisher)
        handlers = OperationHandlers(self.setup, self.security, self.services).handlers()
        self.env = AppEnvironment(
            store,
            SecretBox(settings.secrets_key_file),
            runs,
            health_timeout=settings.deploy_health_timeout_seconds,
            acme_email=settings.acme_email,
        )
        handlers |= self.env.handlers()
        handlers |= AppRemoval(store, runs, self.apps).handlers()
        releases = ReleaseHandlers.from_settings(store, runs, self.blobs, settings, self.env)
        handlers |= releases.handlers()
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
            env=self.env,
        )
        self.deployments = DeploymentService(store, self.tasks)
        self.retention = RetentionService(
            store, settings.event_retention_days, settings.retention_interval_seconds
        )
        if read_only:
            for name, reads in _READS.items():
                setattr(self, name, _ReadOnlyView(getattr(self, name), name, reads))

    def use_publisher(self, publisher: Publisher) -> None:
        """Fan task events out through ``publisher`` (the API's channels); call before ``start``."""
        self.publisher = publisher
        self.event_log.publisher = publisher

    @classmethod
    def open(cls, settings: Settings | None = None, *, read_only: bool = False) -> Deployer:
        """Build a deployer; the database is migrated when it is entered (or ``start``-ed).

        ``read_only`` opens the database of a data dir another process owns (a running
        ``pbdeployer serve``) to read it: no lock, no migration, no recovery, no workers, and
        every call that would change something raises ``ReadOnlyDeployer``.
        """
        settings = settings or Settings.from_env()
        database = Database(settings.sqlalchemy_url, read_only=read_only)
        return cls(settings, database, read_only=read_only)

    def claim(self) -> None:
        """Take the data dir's lock (``DataDirLocked`` names the holder); ``start`` calls it."""
        if self.read_only:
            return
        self.settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock.acquire()

    async def start(self) -> None:
        """Take the data dir's lock, migrate the database, recover, start the workers."""
        self._loop = asyncio.get_running_loop()
        if self.read_only:
            await self.database.open()
            return
        self.claim()
        try:
            await self._start_owned()
        except BaseException:
            self._lock.release()
            raise

    async def _start_owned(self) -> None:
        """Start-up that is only safe for the data dir's one owner: it kills and rewrites."""
        make_private(self.settings.data_dir)
        await self.database.open()
        self.blobs.sweep_tmp()  # uploads a crashed process left half-received
        self.runner.reap_orphans()  # ansible and ssh processes a crashed controller left
        await self.tasks.start()  # marks tasks a crash left running as interrupted
        await self.deployments.recover_interrupted()  # and puts their apps back on a release
        self.retention.start()

    async def close(self) -> None:
        """Stop the workers, then the database; returns within about 10 s by default.

        Running tasks get ``settings.task_stop_grace_seconds`` (2 s) to finish, then are
        cancelled (their Ansible runs killed) within ``CLOSE_CANCEL_SECONDS`` (6 s). A
        deployment cut short ends ``interrupted``; the next start puts its app back on the
        previous release. Queued tasks stay queued for the next start.
        """
        self.check_loop()
        if self.read_only:  # it started nothing but the database
            await self.database.close()
            return
        try:
            await self.retention.stop()
            await self.tasks.stop(self.settings.task_stop_grace_seconds)
            self.runner.cancel_all()
            try:
                await self.deployments.settle_after_stop()
            except Exception:  # a broken database must not keep close from finishing
                _log.exception("could not record the deployments cut short; the next start will")
            await self.database.close()
        finally:
            self._lock.release()

    def check_loop(self) -> None:
        """Raise ``WrongEventLoop`` unless called on the loop this deployer started on.

        Its connections and workers live on that loop; each ``asyncio.run`` makes a new one,
        so a deployer cannot be carried from one ``asyncio.run`` to the next (open one per
        run, or use ``SyncDeployer`` from synchronous code).
        """
        if self._loop is not None and asyncio.get_running_loop() is not self._loop:
            raise WrongEventLoop(
                "this Deployer was started on another event loop (each asyncio.run makes a "
                "new one); open a Deployer inside each run, or use SyncDeployer"
            )

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


class _ReadOnlyView:
    """A service of a read-only Deployer: its reads pass, anything else raises at once."""

    def __init__(self, service: object, name: str, reads: frozenset[str]) -> None:
        self._service = service
        self._name = name
        self._reads = reads

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._service, attr)
        if callable(value) and attr not in self._reads:
            raise ReadOnlyDeployer(
                f"deployer.{self._name}.{attr} is not available on a read-only Deployer: "
                "changes and host operations belong to the process that owns the data dir "
                "(its API, or a Deployer opened without read_only once that one stopped)"
            )
        return value
