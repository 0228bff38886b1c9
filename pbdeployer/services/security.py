"""Security: lockdown (hardening that proves the app user's login first) and audits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from pbdeployer.errors import NotFound, RunFailed
from pbdeployer.inventory import host_alias
from pbdeployer.models import AppFilter, AuditReport, PageRequest, Server, new_id
from pbdeployer.models.common import MAX_PER_PAGE
from pbdeployer.models.run import RunResult
from pbdeployer.plays import audit as audit_plays
from pbdeployer.plays import lockdown as lockdown_plays
from pbdeployer.services._typed import typed_inputs
from pbdeployer.services.runs import EventCallback, HostRuns
from pbdeployer.store import Store
from pbdeployer.validation import check_port, checked_list


class _ReportBody(msgspec.Struct, frozen=True, kw_only=True):
    score: int
    summary: dict[str, int]
    findings: list[dict[str, Any]]


@typed_inputs
class SecurityService:
    def __init__(self, store: Store, runs: HostRuns) -> None:
        self._store = store
        self._runs = runs

    async def lockdown(
        self,
        server_id: str,
        extra_ports: Sequence[int] = (),
        on_event: EventCallback | None = None,
    ) -> RunResult:
        """Harden the host; from then on pbdeployer connects as the app user with sudo."""
        checked_list("extra_ports", extra_ports, check_port)
        server = await self._store.servers.get(server_id)
        result = await self._runs.run(
            lockdown_plays.lockdown(server, extra_ports), server, on_event
        )
        await self._store.servers.change(
            server_id, {"security_locked": True, "updated": datetime.now(UTC)}
        )
        return result

    async def audit(self, server_id: str, on_event: EventCallback | None = None) -> AuditReport:
        """Run a fresh read-only audit, store it and return it."""
        server = await self._store.servers.get(server_id)
        apps, _ = await self._store.apps.list(
            AppFilter(server_id=server_id), PageRequest(per_page=MAX_PER_PAGE)
        )
        result = await self._runs.run(audit_plays.audit(server, apps), server, on_event)
        report = _report_from(result, server)
        return await self._store.audits.add(report)

    async def latest_audit(self, server_id: str) -> AuditReport:
        """The server's last stored audit report; ``NotFound`` before its first audit."""
        await self._store.servers.get(server_id)
        report = await self._store.audits.latest(server_id)
        if report is None:
            raise NotFound(f"server '{server_id}' has no audit yet; run one first")
        return report


def _report_from(result: RunResult, server: Server) -> AuditReport:
    facts = result.facts.get(host_alias(server.id), {})
    raw = facts.get(audit_plays.AUDIT_REPORT_FACT)
    if raw is None:
        raise RunFailed("the audit finished without a report", host=server.name)
    body = msgspec.convert(raw, _ReportBody)
    return msgspec.convert(
        {
            "id": new_id(),
            "server_id": server.id,
            "created": datetime.now(UTC),
            "score": body.score,
            "summary": body.summary,
            "findings": body.findings,
        },
        AuditReport,
    )
