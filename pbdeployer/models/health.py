"""Health report: each component's state and the overall verdict."""

from __future__ import annotations

import enum

import msgspec


class HealthStatus(enum.StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


class ComponentHealth(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    status: HealthStatus
    detail: str
    latency_ms: float | None = None


class HealthReport(msgspec.Struct, frozen=True, kw_only=True):
    status: HealthStatus
    version: str
    components: list[ComponentHealth]
