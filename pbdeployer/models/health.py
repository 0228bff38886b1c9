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


class HealthReport(msgspec.Struct, frozen=True, kw_only=True, tag_field="view", tag="full"):
    """Everything, for the token's holder; ``view`` tells it apart from the summary."""

    status: HealthStatus
    version: str
    components: list[ComponentHealth]

    def summary(self) -> HealthSummary:
        """What anyone may see: up or down per component, nothing that names or locates."""
        return HealthSummary(
            status=self.status,
            components=[ComponentState(name=c.name, status=c.status) for c in self.components],
        )


class ComponentState(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    status: HealthStatus


class HealthSummary(msgspec.Struct, frozen=True, kw_only=True, tag_field="view", tag="summary"):
    """The health answer without a token: no version, server, address, path or error text."""

    status: HealthStatus
    components: list[ComponentState]
