"""Health: a cheap, secret-free look at the components a request depends on."""

from __future__ import annotations

import shutil
import time
from importlib.metadata import version

from pbdeployer.models import ComponentHealth, HealthReport, HealthStatus
from pbdeployer.runner import Runner
from pbdeployer.services._typed import typed_inputs
from pbdeployer.services.runs import HostRuns
from pbdeployer.settings import Settings
from pbdeployer.store import Database

_RANK = {HealthStatus.OK: 0, HealthStatus.DEGRADED: 1, HealthStatus.DOWN: 2}


@typed_inputs
class HealthService:
    def __init__(
        self, settings: Settings, database: Database, runner: Runner, runs: HostRuns
    ) -> None:
        self._settings = settings
        self._database = database
        self._runner = runner
        self._runs = runs

    async def report(self) -> HealthReport:
        """The control plane's health: its database, storage and SSH set-up; the worst decides."""
        components = [await self._database_health(), self._storage_health(), self._ssh_health()]
        overall = max((c.status for c in components), key=_RANK.__getitem__)
        return HealthReport(status=overall, version=version("pbdeployer"), components=components)

    async def _database_health(self) -> ComponentHealth:
        started = time.perf_counter()
        try:
            await self._database.ping()
        except Exception as exc:
            return ComponentHealth(
                name="database", status=HealthStatus.DOWN, detail=type(exc).__name__
            )
        elapsed = (time.perf_counter() - started) * 1000
        return ComponentHealth(
            name="database", status=HealthStatus.OK, detail="round trip ok", latency_ms=elapsed
        )

    def _ssh_health(self) -> ComponentHealth:
        """Degraded while the last run of any server could not reach it; never down."""
        servers = sorted(self._runs.reachability.values(), key=lambda r: r.server_id)
        unreachable = sum(1 for r in servers if not r.reachable)
        detail = (
            f"{self._runner.control_connections()} live control connection(s), "
            f"{self._runner.active_runs} run(s) going, {unreachable} unreachable server(s)"
        )
        status = HealthStatus.DEGRADED if unreachable else HealthStatus.OK
        return ComponentHealth(name="ssh", status=status, detail=detail, servers=servers)

    def _storage_health(self) -> ComponentHealth:
        try:
            free = shutil.disk_usage(self._settings.data_dir).free
        except OSError as exc:
            return ComponentHealth(
                name="storage", status=HealthStatus.DOWN, detail=exc.strerror or ""
            )
        threshold = self._settings.storage_min_free_bytes
        status = HealthStatus.OK if free >= threshold else HealthStatus.DEGRADED
        detail = f"{free // (1 << 20)} MiB free (threshold {threshold // (1 << 20)} MiB)"
        return ComponentHealth(name="storage", status=status, detail=detail)
