"""Each app's environment variables, replaced as a whole."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from pbdeployer.models.app_env import StoredEnvVar
from pbdeployer.store import tables


class AppEnvRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def get(self, app_id: str) -> list[StoredEnvVar]:
        c = tables.app_env.c
        query = select(c.key, c.secret, c.value).where(c.app_id == app_id).order_by(c.key)
        async with self.engine.connect() as conn:
            rows = await conn.execute(query)
            return [StoredEnvVar(key=r.key, secret=r.secret, value=r.value) for r in rows]

    async def replace(self, app_id: str, variables: Sequence[StoredEnvVar]) -> None:
        """Make the app's variables exactly ``variables``, in one transaction."""
        table = tables.app_env
        async with self.engine.begin() as conn:
            await conn.execute(delete(table).where(table.c.app_id == app_id))
            if variables:
                rows = [
                    {"app_id": app_id, "key": v.key, "secret": v.secret, "value": v.value}
                    for v in variables
                ]
                await conn.execute(insert(table), rows)
