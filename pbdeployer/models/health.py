"""Health report: each component's state and the overall verdict."""

from __future__ import annotations

import enum
from datetime import datetime

import msgspec


class HealthStatus(enum.StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


class ServerReachability(msgspec.Struct, frozen=True, kw_only=True):
    """What the last run against a server showed: reached or not, when, and why not."""

    server_id: str
    reachable: bool
    checked_at: datetime
    message: str


class ComponentHealth(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    status: HealthStatus
    detail: str
    latency_ms: float | None = None
    servers: list[ServerReachability] = msgspec.field(default_factory=list)


class HealthReport(msgspec.Struct, frozen=True, kw_only=True):
    status: HealthStatus
    version: str
    components: list[ComponentHealth]
