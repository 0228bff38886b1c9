"""Setup: prepare a fresh server (app user, base packages) and record that it is ready."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pbdeployer.models import MAX_PER_PAGE, AppFilter, PageRequest
from pbdeployer.models.run import RunResult
from pbdeployer.plays import setup as plays
from pbdeployer.services._typed import typed_inputs
from pbdeployer.services.runs import EventCallback, HostRuns
from pbdeployer.store import Store
from pbdeployer.validation import check_package_name, checked_list


@typed_inputs
class SetupService:
    def __init__(self, store: Store, runs: HostRuns, acme_email: str | None = None) -> None:
        self._store = store
        self._runs = runs
        self._acme_email = acme_email

    async def setup(
        self,
        server_id: str,
        extra_packages: Sequence[str] = (),
        on_event: EventCallback | None = None,
        *,
        proxy: bool = False,
    ) -> RunResult:
        """App user and packages in one run, and the proxy when asked or when an app on the
        server has a domain; marks the server ``setup_complete``."""
        packages = checked_list("packages", extra_packages, check_package_name)
        server = await self._store.servers.get(server_id)
        proxy = proxy or await self._has_domains(server_id)
        invocation = plays.setup(server, packages, proxy=proxy, acme_email=self._acme_email)
        result = await self._runs.run(invocation, server, on_event)
        await self._store.servers.change(
            server_id, {"setup_complete": True, "updated": datetime.now(UTC)}
        )
        return result

    async def _has_domains(self, server_id: str) -> bool:
        page = PageRequest(per_page=MAX_PER_PAGE)
        apps, _ = await self._store.apps.list(AppFilter(server_id=server_id), page)
        return any(app.domain for app in apps)

    async def setup_user(self, server_id: str, on_event: EventCallback | None = None) -> RunResult:
        """Create the app user with its key and limited sudo; awaits the run."""
        server = await self._store.servers.get(server_id)
        return await self._runs.run(plays.setup_user(server), server, on_event)

    async def setup_packages(
        self,
        server_id: str,
        extra_packages: Sequence[str] = (),
        on_event: EventCallback | None = None,
    ) -> RunResult:
        """Install the base packages plus ``extra_packages``; awaits the run."""
        packages = checked_list("packages", extra_packages, check_package_name)
        server = await self._store.servers.get(server_id)
        return await self._runs.run(plays.setup_packages(packages), server, on_event)
