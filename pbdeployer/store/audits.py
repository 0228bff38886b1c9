"""Audit reports, kept whole as JSON: they are read back whole, never queried by finding."""

from __future__ import annotations

import msgspec
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from pbdeployer.models import AuditReport
from pbdeployer.store.tables import audit_reports


class AuditRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(self, report: AuditReport) -> AuditReport:
        values = {
            "id": report.id,
            "server_id": report.server_id,
            "created": report.created,
            "score": report.score,
            "report": msgspec.json.encode(report).decode(),
        }
        async with self.engine.begin() as conn:
            await conn.execute(insert(audit_reports).values(**values))
        return report

    async def latest(self, server_id: str) -> AuditReport | None:
        query = (
            select(audit_reports.c.report)
            .where(audit_reports.c.server_id == server_id)
            .order_by(audit_reports.c.created.desc(), audit_reports.c.id.desc())
            .limit(1)
        )
        async with self.engine.connect() as conn:
            text = (await conn.execute(query)).scalar_one_or_none()
        return None if text is None else msgspec.json.decode(text, type=AuditReport)
