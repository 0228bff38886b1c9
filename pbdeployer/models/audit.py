"""Security audit reports: one finding per check, with evidence and the operation that fixes it."""

from __future__ import annotations

import enum
from datetime import datetime

import msgspec


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


class FindingStatus(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - a finding status, not a password
    FAIL = "fail"
    WARN = "warn"


class AuditFinding(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    severity: Severity
    status: FindingStatus
    evidence: str
    remediation: str


class AuditSummary(msgspec.Struct, frozen=True, kw_only=True):
    pass_: int = msgspec.field(name="pass")
    fail: int
    warn: int


class AuditReport(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    server_id: str
    created: datetime
    score: int
    summary: AuditSummary
    findings: list[AuditFinding]

    def finding(self, finding_id: str) -> AuditFinding:
        return next(f for f in self.findings if f.id == finding_id)
