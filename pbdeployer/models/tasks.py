"""Tasks: every operation that touches a host, persisted and run in the background.

A task is queued, then runs, then ends in exactly one recorded state. ``mutating`` tasks change
their server, so at most one of them runs per server at a time; read-only tasks run beside it.
``params`` is everything a worker needs to run the task again from storage alone, so queued
tasks survive a restart and a queue engine in another process could pick them up.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import msgspec


class TaskKind(enum.StrEnum):
    SETUP = "setup"
    SETUP_USER = "setup_user"
    SETUP_PACKAGES = "setup_packages"
    LOCKDOWN = "lockdown"
    AUDIT = "audit"
    SERVICE_STATUS = "service_status"
    SERVICE_CONTROL = "service_control"
    SERVICE_LOGS = "service_logs"
    DEPLOY = "deploy"
    ROLLBACK = "rollback"
    DEPLOY_RECOVER = "deploy_recover"
    """Put an app back on a known release after its deployment was cut short."""
    PROXY_SITE = "proxy_site"
    """Bring an app's site on its server's proxy in line with its domain."""
    APP_ENV = "app_env"
    """Write an app's environment on its host and restart it through the health check."""
    APP_REMOVE = "app_remove"
    """Take a deleted app's site and unit off its host, then delete its record."""


class TaskStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        return self not in (TaskStatus.QUEUED, TaskStatus.RUNNING)


INTERRUPTED_MESSAGE = (
    "the controller stopped while this task ran; its host may be mid-change"
    " — check it and run the task again"
)


class TaskError(msgspec.Struct, frozen=True, kw_only=True):
    """Why a task did not succeed: the ``PbDeployerError`` code and a message to act on."""

    code: str
    message: str


class TaskSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What to run: the kind picks the handler, ``params`` are its JSON-able arguments."""

    kind: TaskKind
    mutating: bool
    server_id: str | None = None
    app_id: str | None = None
    deployment_id: str | None = None
    params: dict[str, Any] = msgspec.field(default_factory=dict)


class Task(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    kind: TaskKind
    status: TaskStatus
    mutating: bool
    server_id: str | None
    app_id: str | None
    deployment_id: str | None
    params: dict[str, Any]
    progress: int
    """Percent done, 0 to 100."""
    step: str
    created: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: TaskError | None
    result: Any
    """The handler's return value as JSON-able data, once succeeded."""
    event_count: int


class TaskFilter(msgspec.Struct, frozen=True, kw_only=True):
    status: TaskStatus | None = None
    kind: TaskKind | None = None
    server_id: str | None = None
    app_id: str | None = None
