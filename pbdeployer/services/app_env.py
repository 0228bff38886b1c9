"""Each app's environment: stored (secrets sealed), shown without secrets, applied as a task.

Setting the variables stores them; the ``app_env`` task then writes them on the host and,
when the app is deployed, restarts it and waits for its health (through the proxy too when
it has a domain). A deploy or rollback writes the same file with the unit.
"""

from __future__ import annotations

from pbdeployer import plays
from pbdeployer.errors import InvalidInput
from pbdeployer.models.app_env import (
    MAX_ENV_VARS,
    AppEnv,
    AppEnvUpdate,
    EnvValues,
    EnvVar,
    StoredEnvVar,
)
from pbdeployer.models.run import RunResult
from pbdeployer.models.tasks import Task, TaskKind
from pbdeployer.services.runs import EventCallback, HostRuns
from pbdeployer.services.sealing import SecretBox
from pbdeployer.services.tasks import TaskContext, TaskHandler
from pbdeployer.store import Store
from pbdeployer.validation import Problems, check_env_key, check_env_value, check_types


def _shown(stored: StoredEnvVar) -> EnvVar:
    return EnvVar(
        key=stored.key, secret=stored.secret, value=None if stored.secret else stored.value
    )


class AppEnvironment:
    """Stores, shows and applies apps' environment variables."""

    def __init__(
        self,
        store: Store,
        box: SecretBox,
        runs: HostRuns,
        *,
        health_timeout: float = 30.0,
        acme_email: str | None = None,
    ) -> None:
        self._store = store
        self._box = box
        self._runs = runs
        self._health_timeout = health_timeout
        self._acme_email = acme_email

    async def get(self, app_id: str) -> AppEnv:
        """The variables as anyone may see them: a secret shows its key, never its value."""
        await self._store.apps.get(app_id)
        stored = await self._store.app_env.get(app_id)
        return AppEnv(app_id=app_id, variables=[_shown(v) for v in stored])

    async def set(self, app_id: str, update: AppEnvUpdate) -> AppEnv:
        """Replace the app's variables (secrets sealed); the host is not touched yet."""
        return await self.store(app_id, await self.prepare(app_id, update))

    async def prepare(self, app_id: str, update: AppEnvUpdate) -> list[StoredEnvVar]:
        """The rows ``update`` stands for, checked and sealed (``InvalidInput`` otherwise)."""
        check_types(update)
        await self._store.apps.get(app_id)
        before = {v.key: v for v in await self._store.app_env.get(app_id)}
        return self._checked_rows(update, before)

    async def store(self, app_id: str, rows: list[StoredEnvVar]) -> AppEnv:
        await self._store.app_env.replace(app_id, rows)
        return AppEnv(app_id=app_id, variables=[_shown(v) for v in rows])

    async def values(self, app_id: str) -> EnvValues:
        """The variables in clear, for the host alone (never for an answer or an event)."""
        values: dict[str, str] = {}
        secrets: list[str] = []
        for stored in await self._store.app_env.get(app_id):
            value = self._box.open(stored.value) if stored.secret else stored.value
            values[stored.key] = value
            if stored.secret and value:
                secrets.append(value)
        return EnvValues(values=values, secrets=tuple(secrets))

    async def apply(self, app_id: str, on_event: EventCallback | None = None) -> RunResult:
        app = await self._store.apps.get(app_id)
        server = await self._store.servers.get(app.server_id)
        invocation = plays.app_env.apply(
            app,
            server,
            await self.values(app_id),
            restart=app.current_version is not None,
            health_timeout=round(self._health_timeout),
            acme_email=self._acme_email,
        )
        return await self._runs.run(invocation, server, on_event)

    def handlers(self) -> dict[TaskKind, TaskHandler]:
        return {TaskKind.APP_ENV: self._task}

    async def _task(self, task: Task, ctx: TaskContext) -> RunResult:
        if task.app_id is None:
            raise InvalidInput.single("app_id", "this kind of task needs it")
        return await self.apply(task.app_id, ctx.on_run_event)

    def _checked_rows(
        self, update: AppEnvUpdate, before: dict[str, StoredEnvVar]
    ) -> list[StoredEnvVar]:
        problems = Problems()
        if len(update.variables) > MAX_ENV_VARS:
            problems.add("variables", f"at most {MAX_ENV_VARS} variables")
        seen: set[str] = set()
        rows: list[StoredEnvVar] = []
        for i, var in enumerate(update.variables):
            field = f"variables[{i}]"
            problems.check(f"{field}.key", var.key, check_env_key)
            problems.check(f"{field}.value", var.value, check_env_value)
            if var.key in seen:
                problems.add(f"{field}.key", "appears more than once")
            seen.add(var.key)
            row = self._row(var.key, var.value, var.secret, before.get(var.key))
            if row is None:
                problems.add(f"{field}.value", "is required (null keeps only a secret set before)")
            else:
                rows.append(row)
        problems.raise_if_any()
        return sorted(rows, key=lambda r: r.key)

    def _row(
        self, key: str, value: str | None, secret: bool, old: StoredEnvVar | None
    ) -> StoredEnvVar | None:
        if value is None:
            kept = secret and old is not None and old.secret
            return StoredEnvVar(key=key, secret=True, value=old.value) if kept and old else None
        sealed = self._box.seal(value) if secret else value
        return StoredEnvVar(key=key, secret=secret, value=sealed)
