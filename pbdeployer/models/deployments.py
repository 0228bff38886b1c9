"""Deployments: one attempt to put a version live on an app's server, or to roll it back."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import msgspec

MAX_LOG_CHARS = 20_000
"""``Deployment.logs`` keeps the newest lines up to this size; events hold the full detail."""


class DeploymentStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def active(self) -> bool:
        return self in (DeploymentStatus.QUEUED, DeploymentStatus.RUNNING)

    @property
    def took_effect(self) -> bool:
        """The release went live (and may since have been rolled back)."""
        return self in (DeploymentStatus.SUCCEEDED, DeploymentStatus.ROLLED_BACK)


class DeploymentKind(enum.StrEnum):
    DEPLOY = "deploy"
    ROLLBACK = "rollback"


class Deployment(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    created: datetime
    updated: datetime
    app_id: str
    version_id: str
    status: DeploymentStatus
    logs: Annotated[
        str, msgspec.Meta(description="a bounded human-readable log; events hold every detail")
    ]
    started_at: datetime | None
    completed_at: datetime | None
    server_id: str | None = None
    kind: DeploymentKind = DeploymentKind.DEPLOY
    task_id: str | None = None
    previous_version_id: Annotated[
        str | None, msgspec.Meta(description="the app's live version when this one started")
    ] = None
    release: str = ""
    progress: int = 0
    step: str = ""
    restore_data: bool = False
    rolled_back: Annotated[
        bool, msgspec.Meta(description="the release failed and the previous one was put back")
    ] = False
    restored_data: bool = False
    snapshot: Annotated[
        str | None, msgspec.Meta(description="host path of the data snapshot taken before")
    ] = None
    error_code: str | None = None
    error_message: str | None = None

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.completed_at is None:
            return None
        return (self.completed_at - self.started_at).total_seconds()


class DeployRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    version_id: str


class RollbackRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Back to ``version_id`` (default: the release live before the last successful deploy).

    ``restore_data`` also puts back the data snapshot taken before the deployment that moved
    the app away from that version.
    """

    version_id: str | None = None
    restore_data: bool = False


class DeploymentFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which deployments a list selects; ``since``/``until`` bound ``created``, both inclusive."""

    app_id: str | None = None
    server_id: str | None = None
    status: DeploymentStatus | None = None
    since: datetime | None = None
    until: datetime | None = None


class DeploymentState(msgspec.Struct, frozen=True, kw_only=True):
    """Where a deployment is now: what ``GET /deployments/{id}/status`` answers."""

    id: str
    status: DeploymentStatus
    percent: int
    step: str
    created: datetime
    started_at: datetime | None
    completed_at: datetime | None
    queued_seconds: float | None
    duration_seconds: float | None
    error_code: str | None
    error_message: str | None


class DurationStats(msgspec.Struct, frozen=True, kw_only=True):
    p50_seconds: float | None
    p95_seconds: float | None


class AppDeploymentStats(msgspec.Struct, frozen=True, kw_only=True):
    app_id: str
    total: int
    by_status: dict[str, int]
    success_rate: float | None
    duration: DurationStats


DEFAULT_STATS_APPS = 50
MAX_STATS_APPS = 500


class AppFigures(msgspec.Struct, frozen=True, kw_only=True):
    """One app's counts by status and duration percentiles, as the store computes them."""

    app_id: str
    by_status: dict[str, int]
    duration: DurationStats


class StatsFigures(msgspec.Struct, frozen=True, kw_only=True):
    """What the store counts for a statistics window; the service derives totals and rates."""

    by_status: dict[str, int]
    duration: DurationStats
    apps_total: int
    apps: list[AppFigures]


class DeploymentStats(msgspec.Struct, frozen=True, kw_only=True):
    """Counts and timings of the deployments created within the window."""

    since: datetime
    until: datetime
    total: int
    by_status: dict[str, int]
    success_rate: Annotated[
        float | None,
        msgspec.Meta(
            description="succeeded / finished (queued and running left out); null if none"
        ),
    ]
    duration: DurationStats
    apps_total: Annotated[
        int, msgspec.Meta(description="how many apps had deployments in the window")
    ]
    apps: Annotated[
        list[AppDeploymentStats],
        msgspec.Meta(
            description="the apps with the most deployments in the window, most first (ties by"
            f" id), at most `apps` of them (default {DEFAULT_STATS_APPS}, max {MAX_STATS_APPS})"
        ),
    ]
