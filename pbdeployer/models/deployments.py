"""Deployments: one attempt to put a version live on an app's server."""

from __future__ import annotations

import enum
from datetime import datetime

import msgspec


class DeploymentStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


class Deployment(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    created: datetime
    updated: datetime
    app_id: str
    version_id: str
    status: DeploymentStatus
    logs: str
    started_at: datetime | None
    completed_at: datetime | None
