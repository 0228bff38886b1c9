"""Service: read and control the systemd unit of each app pbdeployer manages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from pbdeployer.errors import InvalidInput, RunFailed
from pbdeployer.inventory import host_alias
from pbdeployer.models import App, AppFilter, AppStatus, LogLine, PageRequest, Server, UnitStatus
from pbdeployer.models.common import MAX_PER_PAGE
from pbdeployer.models.run import PlaybookInvocation, RunResult
from pbdeployer.plays import service as plays
from pbdeployer.plays.service import ServiceAction
from pbdeployer.services._typed import typed_inputs
from pbdeployer.services.runs import EventCallback, HostRuns
from pbdeployer.store import Store

MAX_LOG_LINES = 10_000
_STATUS_AFTER = {
    ServiceAction.START: AppStatus.RUNNING,
    ServiceAction.RESTART: AppStatus.RUNNING,
    ServiceAction.RELOAD: AppStatus.RUNNING,
    ServiceAction.STOP: AppStatus.STOPPED,
}


@typed_inputs
class ServiceControl:
    def __init__(self, store: Store, runs: HostRuns) -> None:
        self._store = store
        self._runs = runs

    async def units(self, server_id: str) -> list[UnitStatus]:
        """The units of every app on the server (one read per app)."""
        await self._store.servers.get(server_id)
        apps, _ = await self._store.apps.list(
            AppFilter(server_id=server_id), PageRequest(per_page=MAX_PER_PAGE)
        )
        return [await self.status(app.id) for app in apps]

    async def status(self, app_id: str) -> UnitStatus:
        """The app's systemd unit as the host reports it now."""
        app, server = await self._app_and_server(app_id)
        facts = await self._read(plays.status(app, server), server, plays.SERVICE_STATUS_FACT)
        return unit_status(app.id, facts)

    async def logs(
        self, app_id: str, lines: int = 100, since: datetime | None = None
    ) -> list[LogLine]:
        """The app unit's latest journal lines (``lines`` of them, oldest first)."""
        if not 1 <= lines <= MAX_LOG_LINES:
            raise InvalidInput.single("lines", f"must be between 1 and {MAX_LOG_LINES}")
        app, server = await self._app_and_server(app_id)
        since_text = since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if since else ""
        invocation = plays.logs(app, server, lines=lines, since=since_text)
        raw = await self._read(invocation, server, plays.SERVICE_LOGS_FACT)
        return msgspec.convert(raw, list[LogLine])

    async def control(
        self, app_id: str, action: ServiceAction, on_event: EventCallback | None = None
    ) -> RunResult:
        """Start, stop, restart, reload, enable or disable the app's unit; awaits the run."""
        app, server = await self._app_and_server(app_id)
        result = await self._runs.run(plays.control(app, server, action), server, on_event)
        if action in _STATUS_AFTER:
            await self._store.apps.change(
                app.id, {"status": _STATUS_AFTER[action].value, "updated": datetime.now(UTC)}
            )
        return result

    async def install(self, app_id: str, on_event: EventCallback | None = None) -> RunResult:
        """Write the app's unit and start it (its release must already be in place)."""
        app, server = await self._app_and_server(app_id)
        return await self._runs.run(plays.install_unit(app, server), server, on_event)

    async def _app_and_server(self, app_id: str) -> tuple[App, Server]:
        app = await self._store.apps.get(app_id)
        return app, await self._store.servers.get(app.server_id)

    async def _read(self, invocation: PlaybookInvocation, server: Server, fact: str) -> Any:
        result = await self._runs.run(invocation, server)
        facts = result.facts.get(host_alias(server.id), {})
        if fact not in facts:
            raise RunFailed(f"reading the unit returned no {fact}", host=server.name)
        return facts[fact]


def unit_status(app_id: str, props: dict[str, str]) -> UnitStatus:
    """Turn ``systemctl show`` properties into a typed status."""
    pid = int(props.get("MainPID") or 0)
    memory = props.get("MemoryCurrent", "")
    return UnitStatus(
        app_id=app_id,
        unit=props.get("Id", ""),
        load_state=props.get("LoadState", ""),
        active_state=props.get("ActiveState", ""),
        sub_state=props.get("SubState", ""),
        main_pid=pid or None,
        since=_systemd_time(props.get("ActiveEnterTimestamp", "")),
        memory_bytes=int(memory) if memory.isdigit() else None,
        restart_count=int(props.get("NRestarts") or 0),
        enabled=props.get("UnitFileState", ""),
    )


def _systemd_time(text: str) -> datetime | None:
    """``Wed 2026-11-25 08:00:00 UTC`` (hosts here keep UTC) or empty."""
    parts = text.split()
    if len(parts) < 3:
        return None
    try:
        stamp = datetime.strptime(f"{parts[1]} {parts[2]}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return stamp.replace(tzinfo=UTC) if parts[-1] == "UTC" else stamp.astimezone(UTC)
