"""The task bodies of deployments: run the release plays and record what the host reports.

Every body ends with the deployment in a final state, the app's status and current version
matching what the host serves, and the deploy lock released. A cancel or a failure that may
have left the host mid-change is followed by the recover play, which waits for any release
step still running there and puts the app back on its previous release.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from pbdeployer.artifacts import BlobStore
from pbdeployer.errors import (
    HostKeyChanged,
    HostUnreachable,
    InvalidInput,
    NotFound,
    PbDeployerError,
    ReleaseFailed,
    RunCancelled,
    RunError,
)
from pbdeployer.models import App, AppStatus, Server, Version
from pbdeployer.models.app_env import EnvValues
from pbdeployer.models.deployments import (
    MAX_LOG_CHARS,
    Deployment,
    DeploymentKind,
    DeploymentStatus,
)
from pbdeployer.models.releases import ReleaseReport
from pbdeployer.models.run import (
    PlaybookInvocation,
    RunEvent,
    TaskFailed,
    TaskOk,
    TaskStarted,
    TaskUnreachable,
)
from pbdeployer.models.task_events import DeploymentProgress
from pbdeployer.models.tasks import Task, TaskKind
from pbdeployer.plays import deploy as plays
from pbdeployer.services.app_env import AppEnvironment
from pbdeployer.services.tasks import TaskContext, TaskHandler, TaskRuns
from pbdeployer.settings import Settings
from pbdeployer.store import Store

_UNREACHABLE = (HostUnreachable, HostKeyChanged)
_RETRY_DELAYS = (1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 30.0, 30.0)
_CONTROLLER_ACTIONS = frozenset(
    f"{prefix}{name}"
    for prefix in ("", "ansible.builtin.")
    for name in ("assert", "set_fact", "debug", "meta", "include_tasks", "import_tasks",
                 "include_role", "import_role", "fail", "validate_argument_spec")
)  # fmt: skip
"""Actions that run on the controller: seeing them does not mean the host was reached."""
_NEVER_CONNECTED = re.compile(
    r"connect to host \S+ port \d+: (Connection refused|Connection timed out|No route to host"
    r"|Network is unreachable)|Could not resolve hostname|Permission denied \(|"
    r"Host key verification failed|Connection timed out during banner exchange"
)
"""ssh's words for a connection that never opened (unlike a dropped one: Broken pipe ...)."""
_RECONNECT = "fix the connection and deploy again (a partly uploaded release is cleaned up then)"
RECOVER_SECONDS = 60.0
"""How long a recovery keeps trying a host that does not answer (a reboot, a network blip)."""


def _now() -> datetime:
    return datetime.now(UTC)


class Job(msgspec.Struct, kw_only=True):
    """Everything one deployment's body works with, loaded once."""

    deployment: Deployment
    app: App
    server: Server
    version: Version
    previous_release: str | None
    env: EnvValues | None = None


class Ending(msgspec.Struct, frozen=True, kw_only=True):
    """How a deployment ended, and what the app is left serving."""

    status: DeploymentStatus
    message: str
    error_code: str | None = None
    app_status: AppStatus
    current_version: str | None
    report: ReleaseReport | None = None


class ReleaseTracker:
    """Follows a release run: progress from task names, a bounded log, the host's report."""

    def __init__(self, ctx: TaskContext, deployment: Deployment) -> None:
        self._ctx = ctx
        self._deployment = deployment
        self.report: ReleaseReport | None = None
        self.switch_started: bool = False
        self.reached_host: bool = False
        self.percent: int = 0
        self.lines: list[str] = []

    def note(self, text: str) -> None:
        self.lines.append(f"{_now():%H:%M:%S} {text}")

    @property
    def cancelled(self) -> bool:
        return self._ctx.cancelled

    def on_event(self, event: RunEvent) -> None:
        self._ctx.on_run_event(event)
        if _proves_a_connection(event):
            self.reached_host = True  # a task may have written to the host before failing
        if isinstance(event, TaskStarted):
            self._started(event.task)
        elif isinstance(event, TaskOk) and plays.RELEASE_FACT in event.facts:
            self.report = msgspec.convert(event.facts[plays.RELEASE_FACT], ReleaseReport)
        elif isinstance(event, TaskFailed) and not event.ignored:
            self.note(f"failed: {event.task}: {event.message}")

    def _started(self, task_name: str) -> None:
        if task_name == plays.SWITCH_TASK:
            self.switch_started = True
        step = plays.DEPLOY_STEPS.get(task_name)
        if step is None:
            return
        percent, label = step
        self.percent = percent
        self.note(f"{label}: {task_name}")
        self._ctx.progress(percent, label)
        self._ctx.emit(
            DeploymentProgress(
                task_id=self._ctx.task.id, seq=self._ctx.next_seq(), created=_now(),
                deployment_id=self._deployment.id, status=DeploymentStatus.RUNNING.value,
                step=label,
            )
        )  # fmt: skip

    def log_text(self, previous: str) -> str:
        text = "\n".join(filter(None, [previous, *self.lines]))
        return text[-MAX_LOG_CHARS:]


class ReleaseHandlers:
    """Task bodies for ``deploy``, ``rollback`` and ``deploy_recover`` tasks."""

    def __init__(
        self,
        store: Store,
        runs: TaskRuns,
        blobs: BlobStore,
        options: plays.DeployOptions,
        *,
        recover_seconds: float = RECOVER_SECONDS,
        env: AppEnvironment | None = None,
    ) -> None:
        self._env = env
        self._store = store
        self._runs = runs
        self._blobs = blobs
        self._options = options
        self._recover_seconds = recover_seconds

    @classmethod
    def from_settings(
        cls,
        store: Store,
        runs: TaskRuns,
        blobs: BlobStore,
        settings: Settings,
        env: AppEnvironment | None = None,
    ) -> ReleaseHandlers:
        options = plays.DeployOptions(
            health_timeout=settings.deploy_health_timeout_seconds,
            health_interval=settings.deploy_health_interval_seconds,
            keep_releases=settings.deploy_keep_releases,
            keep_snapshots=settings.deploy_keep_snapshots,
            acme_email=settings.acme_email,
        )
        return cls(
            store, runs, blobs, options, recover_seconds=settings.deploy_recover_seconds, env=env
        )

    def handlers(self) -> dict[TaskKind, TaskHandler]:
        return {
            TaskKind.DEPLOY: self.release,
            TaskKind.ROLLBACK: self.release,
            TaskKind.DEPLOY_RECOVER: self.recover,
        }

    async def release(self, task: Task, ctx: TaskContext) -> ReleaseReport | None:
        """Deploy or roll back, as the deployment says; recover the host when cut short."""
        job = await self._load(task, begin=True)
        tracker = ReleaseTracker(ctx, job.deployment)
        tracker.note(f"{job.deployment.kind} of release {job.deployment.release} started")
        try:
            await self._runs.run(self._invocation(job), job.server, tracker.on_event)
        except RunCancelled:
            ending = await self._after_cancel(job, tracker)
            await self._finish(job, tracker, ending)
            raise
        except RunError as exc:
            ending = await self._after_error(job, tracker, exc)
            await self._finish(job, tracker, ending)
            raise _failure(ending) from exc
        except BaseException as exc:
            await self._finish(job, tracker, self._crashed(job, exc))
            raise
        ending = self._after_run(job, tracker.report)
        await self._finish(job, tracker, ending)
        if ending.status is not DeploymentStatus.SUCCEEDED:
            raise _failure(ending)
        return ending.report

    async def recover(self, task: Task, ctx: TaskContext) -> ReleaseReport | None:
        """After a controller crash: put the app back on its previous release, then unlock."""
        job = await self._load(task, begin=False)
        tracker = ReleaseTracker(ctx, job.deployment)
        tracker.note("the controller restarted during this deployment; recovering the host")
        report = await self._recover(job, tracker, retry=True)
        ending = self._recovered(job, report, "the controller stopped during this deployment")
        ending = msgspec.structs.replace(ending, status=DeploymentStatus.INTERRUPTED)
        await self._finish(job, tracker, ending)
        if report is None or not report.healthy:
            raise _failure(ending)
        return report

    def _invocation(self, job: Job) -> PlaybookInvocation:
        deployment, zip_path = job.deployment, self._zip_path(job.version)
        if deployment.kind is DeploymentKind.ROLLBACK:
            return plays.rollback(
                job.app, job.server, job.version, zip_path, deployment.id, self._options,
                deployment.snapshot, job.env,
            )  # fmt: skip
        return plays.deploy(
            job.app, job.server, job.version, zip_path, deployment.id, self._options, job.env
        )

    def _zip_path(self, version: Version) -> Path:
        if version.zip_sha256 is None or not self._blobs.exists(version.zip_sha256):
            raise InvalidInput.single("version_id", "the version's zip is no longer stored")
        return self._blobs.path(version.zip_sha256)

    async def _load(self, task: Task, *, begin: bool) -> Job:
        if task.deployment_id is None:
            raise InvalidInput.single("deployment_id", "a deployment task needs it")
        deployment = await self._store.deployments.get(task.deployment_id)
        app = await self._store.apps.get(deployment.app_id)
        server = await self._store.servers.get(app.server_id)
        version = await self._store.versions.get(deployment.version_id)
        previous = None
        if deployment.previous_version_id is not None:
            previous = await self._release_of(deployment.previous_version_id)
        if begin:
            now = _now()
            deployment = msgspec.structs.replace(
                deployment, status=DeploymentStatus.RUNNING, started_at=now, updated=now
            )
            await self._store.deployments.save(deployment)
            await self._store.apps.change(app.id, {"status": AppStatus.DEPLOYING, "updated": now})
        env = await self._env.values(app.id) if self._env is not None else None
        return Job(
            deployment=deployment, app=app, server=server, version=version,
            previous_release=previous, env=env,
        )  # fmt: skip

    async def _release_of(self, version_id: str) -> str | None:
        try:
            return plays.release_name(await self._store.versions.get(version_id))
        except NotFound:  # the version was deleted since; the host report still names it
            return None

    def _after_run(self, job: Job, report: ReleaseReport | None) -> Ending:
        if report is None:  # the role always reports; a missing report is a broken role
            return self._unknown(job, "the host sent no release report")
        if report.rolled_back:
            return Ending(
                status=DeploymentStatus.FAILED, error_code=ReleaseFailed.code,
                message=_rolled_back_message(job, report), app_status=AppStatus.RUNNING,
                current_version=job.deployment.previous_version_id, report=report,
            )  # fmt: skip
        return Ending(
            status=DeploymentStatus.SUCCEEDED, message=report.message or "deployed and healthy",
            app_status=AppStatus.RUNNING, current_version=job.version.id, report=report,
        )  # fmt: skip

    async def _after_cancel(self, job: Job, tracker: ReleaseTracker) -> Ending:
        when = "after" if tracker.switch_started else "before"
        tracker.note(f"cancelled {when} the switch; {_undoing(job)}")
        report = await self._recover(job, tracker)
        ending = self._recovered(job, report, f"cancelled {when} the switch")
        return msgspec.structs.replace(
            ending, status=DeploymentStatus.CANCELLED, error_code="cancelled"
        )

    async def _after_error(self, job: Job, tracker: ReleaseTracker, exc: RunError) -> Ending:
        if tracker.report is not None and not tracker.switch_started:  # failed and said why
            return self._unhealthy(job, tracker.report, exc.message)
        unreachable = isinstance(exc, _UNREACHABLE)
        cause = f"the host could not be reached ({exc.message})" if unreachable else exc.message
        if unreachable and not tracker.reached_host:  # no task began there: nothing to undo
            return self._unswitched(job, cause, exc)
        tracker.note(f"failed: {cause}; {_undoing(job)}")
        report = await self._recover(job, tracker, retry=True)  # the host may be rebooting
        if report is None and unreachable and not tracker.switch_started:
            return self._unswitched(job, cause, exc)
        ending = self._recovered(job, report, f"the deployment failed: {cause}")
        return msgspec.structs.replace(ending, status=DeploymentStatus.FAILED, error_code=exc.code)

    async def _recover(
        self, job: Job, tracker: ReleaseTracker, *, retry: bool = False
    ) -> ReleaseReport | None:
        """Run the recover play to its end; ``None`` when even that could not run.

        With ``retry``, an unreachable host is tried again for ``recover_seconds`` (a reboot
        or a network blip), unless the task is cancelled meanwhile.
        """
        invocation = plays.recover(
            job.app, job.server, job.deployment.id, job.previous_release,
            job.deployment.release, self._options,
        )  # fmt: skip
        deadline = time.monotonic() + (self._recover_seconds if retry else 0.0)
        for delay in _RETRY_DELAYS:
            tracker.report = None
            try:
                await self._runs.run_to_end(invocation, job.server, tracker.on_event)
                return tracker.report
            except _UNREACHABLE as exc:
                tracker.note(f"recovery could not reach the host: {exc.message}")
                if time.monotonic() + delay > deadline or tracker.cancelled:
                    return None
            except RunError as exc:
                tracker.note(f"recovery failed: {exc.message}")
                return tracker.report
            await asyncio.sleep(delay)
        return None

    def _recovered(self, job: Job, report: ReleaseReport | None, cause: str) -> Ending:
        if report is None:
            return self._unknown(job, f"{cause}, and recovering the host failed")
        if not report.healthy:
            return self._unhealthy(job, report, cause)
        return Ending(
            status=DeploymentStatus.CANCELLED, error_code=None,
            message=f"{cause}; the app serves release '{report.current}' and is healthy"
            + _removed(report),
            app_status=AppStatus.RUNNING, current_version=self._version_of(job, report.current),
            report=report,
        )  # fmt: skip

    def _unhealthy(self, job: Job, report: ReleaseReport, cause: str) -> Ending:
        detail = report.health_error or report.message
        return Ending(
            status=DeploymentStatus.FAILED, error_code=ReleaseFailed.code,
            message=f"{cause}; no release answers its health check ({detail}) — read the "
            "service logs, then deploy a fixed version or roll back",
            app_status=AppStatus.FAILED, current_version=self._version_of(job, report.current),
            report=report,
        )  # fmt: skip

    def _unswitched(
        self, job: Job, cause: str, exc: PbDeployerError, advice: str = _RECONNECT
    ) -> Ending:
        """Cut short before the switch step: ``current`` still names the previous release."""
        live = job.previous_release
        where = f"the app stays on release '{live}'" if live else "nothing was started"
        return Ending(
            status=DeploymentStatus.FAILED, error_code=exc.code,
            message=f"{cause}; nothing was switched, {where} — {advice}",
            app_status=AppStatus.RUNNING if job.app.current_version else AppStatus.NEW,
            current_version=job.app.current_version,
        )  # fmt: skip

    def _unknown(self, job: Job, cause: str, code: str = "run_failed") -> Ending:
        return Ending(
            status=DeploymentStatus.FAILED, error_code=code,
            message=f"{cause}; the app may be on release '{job.previous_release}' or "
            f"'{job.deployment.release}' — check the host, then deploy or roll back again",
            app_status=AppStatus.FAILED, current_version=job.app.current_version,
        )  # fmt: skip

    def _crashed(self, job: Job, exc: BaseException) -> Ending:
        if isinstance(exc, PbDeployerError):  # refused before the run began (zip gone ...)
            return self._unswitched(job, exc.message, exc, "fix that and deploy again")
        return self._unknown(job, "the deployment stopped on an unexpected error", "internal_error")

    def _version_of(self, job: Job, release: str | None) -> str | None:
        if release is not None and release == job.deployment.release:
            return job.version.id
        if release is not None and release == job.previous_release:
            return job.deployment.previous_version_id
        return job.app.current_version

    async def _finish(self, job: Job, tracker: ReleaseTracker, ending: Ending) -> None:
        """Record the end, set the app to what it serves, and free the deploy lock."""
        now, report = _now(), ending.report
        succeeded = ending.status is DeploymentStatus.SUCCEEDED
        tracker.note(ending.message)
        deployment = msgspec.structs.replace(
            job.deployment, status=ending.status, updated=now, completed_at=now,
            progress=100 if succeeded else tracker.percent,
            step="done" if succeeded else ending.status.value,
            error_code=ending.error_code,
            error_message=None if succeeded else ending.message,
            rolled_back=bool(report and report.rolled_back),
            restored_data=bool(report and report.restored_data),
            snapshot=(report.snapshot if report and report.snapshot else job.deployment.snapshot),
            logs=tracker.log_text(job.deployment.logs),
        )  # fmt: skip
        try:
            await self._store.apps.change(
                job.app.id,
                {"status": ending.app_status, "current_version": ending.current_version,
                 "updated": now},
            )  # fmt: skip
            if succeeded:
                await self._mark_replaced(job)
        finally:
            await self._store.deployments.save_ended(deployment)

    async def _mark_replaced(self, job: Job) -> None:
        """A rollback that succeeded marks the deployment it undid as ``rolled_back``."""
        replaced = job.deployment.previous_version_id
        if job.deployment.kind is not DeploymentKind.ROLLBACK or replaced is None:
            return
        last = await self._store.deployments.last_succeeded(job.app.id, job.deployment.id)
        if last is not None and last.version_id == replaced:
            await self._store.deployments.save(
                msgspec.structs.replace(last, status=DeploymentStatus.ROLLED_BACK, updated=_now())
            )


def _proves_a_connection(event: RunEvent) -> bool:
    """Whether a host task ran, or may have: any result of one except a failed connect.

    A task's start proves nothing: Ansible announces it before connecting. An unreachable
    result whose ssh error is a refused, timed-out or unrouted connect (or refused keys) means
    the connection never opened, so nothing of that task ran on the host.
    """
    if not isinstance(event, TaskOk | TaskFailed | TaskUnreachable):
        return False
    if event.action in _CONTROLLER_ACTIONS:
        return False
    return not (isinstance(event, TaskUnreachable) and _NEVER_CONNECTED.search(event.message))


def _undoing(job: Job) -> str:
    if job.previous_release is None:
        return "removing what this first deployment left on the host"
    return f"putting release '{job.previous_release}' back"


def _failure(ending: Ending) -> ReleaseFailed:
    """The task's error: the deployment's own message and code, so both read the same."""
    error = ReleaseFailed(ending.message)
    error.code = ending.error_code or ReleaseFailed.code
    return error


def _rolled_back_message(job: Job, report: ReleaseReport) -> str:
    restored = " and its data snapshot was restored" if report.restored_data else ""
    return (
        f"release '{job.deployment.release}' failed its health check "
        f"({report.health_error or 'no answer'}); the app was rolled back to release "
        f"'{report.current}'{restored} and is healthy — read the service logs of the failed "
        "release before deploying it again"
    )


def _removed(report: ReleaseReport) -> str:
    if not report.removed:
        return ""
    return "; removed " + ", ".join(f"'{name}'" for name in report.removed)
