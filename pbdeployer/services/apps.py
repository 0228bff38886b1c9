"""Apps: a service on a server, with its path, unit name and port chosen safely."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import msgspec

from pbdeployer.errors import Conflict, DeploymentLocked, InvalidInput, NotFound
from pbdeployer.models import (
    App,
    AppCreate,
    AppFilter,
    AppStatus,
    AppUpdate,
    Page,
    PageRequest,
    make_page,
    new_id,
)
from pbdeployer.services._typed import typed_inputs
from pbdeployer.services.artifacts import VersionZips
from pbdeployer.services.paging import checked_page
from pbdeployer.store import Store
from pbdeployer.validation import (
    Problems,
    check_binary_name,
    check_domain,
    check_name,
    check_port,
    check_remote_path,
    check_types,
    check_unit_name,
    paths_overlap,
)

FIRST_APP_PORT = 8090
_PER_SERVER_UNIQUE = {
    "http_port": "HTTP port",
    "service_name": "service name",
    "remote_path": "remote path",
    "domain": "domain",
}


def _validate(data: AppCreate | AppUpdate) -> None:
    check_types(data)
    problems = Problems()
    problems.check("name", data.name, check_name)
    problems.check("remote_path", data.remote_path, check_remote_path)
    problems.check("service_name", data.service_name, check_unit_name)
    problems.check("domain", data.domain, check_domain)
    problems.check("http_port", data.http_port, check_port)
    problems.check("binary_name", data.binary_name, check_binary_name)
    problems.raise_if_any()


def slug(name: str) -> str:
    """A lowercase, path- and unit-safe form of an app name."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "app"


@typed_inputs
class AppService:
    def __init__(self, store: Store, zips: VersionZips) -> None:
        self._store = store
        self._zips = zips
        # Checks for what must be unique on a server and the write that follows happen as one
        # step, so parallel creates never pick the same free port or overlapping paths.
        self._placing = asyncio.Lock()

    async def create(self, data: AppCreate) -> App:
        """Place a new app on a server (port, remote path and unit derived when not given)."""
        _validate(data)
        await self._ensure_server(data.server_id)
        async with self._placing:
            await self._ensure_name_free(data.name)
            app = await self._new_app(data)
            await self._ensure_unique_on_server(app, msgspec.structs.asdict(app))
            return await self._store.apps.add(app)

    async def _new_app(self, data: AppCreate) -> App:
        now = datetime.now(UTC)
        return App(
            id=new_id(),
            created=now,
            updated=now,
            name=data.name,
            server_id=data.server_id,
            remote_path=data.remote_path or f"/opt/pocketbase/{slug(data.name)}",
            service_name=(data.service_name or f"pocketbase-{slug(data.name)}").removesuffix(
                ".service"
            ),
            domain=data.domain,
            tls=data.tls,
            http_port=data.http_port or await self._free_port(data.server_id),
            binary_name=data.binary_name,
            current_version=None,
            status=AppStatus.NEW,
        )

    async def get(self, app_id: str) -> App:
        """The app, or ``NotFound``."""
        return await self._store.apps.get(app_id)

    async def list(
        self, flt: AppFilter | None = None, page: PageRequest | None = None
    ) -> Page[App]:
        """Apps matching ``flt`` (server, status, name search), one page at a time."""
        request = checked_page(page or PageRequest())
        items, total = await self._store.apps.list(flt or AppFilter(), request)
        return make_page(items, request, total)

    async def update(self, app_id: str, changes: AppUpdate) -> App:
        """Change the given fields (validated like ``create``); the rest stay as they are."""
        _validate(changes)
        current = await self._store.apps.get(app_id)
        values: dict[str, Any] = msgspec.to_builtins(changes)
        if "service_name" in values:
            values["service_name"] = values["service_name"].removesuffix(".service")
        if not values:
            return current
        async with self._placing:
            if "name" in values and values["name"] != current.name:
                await self._ensure_name_free(values["name"])
            await self._ensure_unique_on_server(current, values)
            values["updated"] = datetime.now(UTC)
            return await self._store.apps.change(app_id, values)

    async def delete(self, app_id: str, *, cascade: bool = False) -> None:
        """Refuse while versions exist, unless ``cascade`` asks to delete them too."""
        await self._store.apps.get(app_id)
        if cascade:
            async with self._zips.lock:
                for sha256 in await self._store.apps.remove_with_versions(app_id):
                    await self._zips.release(sha256)
            return
        versions = await self._store.versions.count_for_app(app_id)
        if versions:
            raise Conflict(
                f"app '{app_id}' has {versions} version(s); delete them or pass cascade=true"
            )
        await self._store.apps.remove(app_id)

    async def ensure_not_deploying(self, app_id: str) -> None:
        """``DeploymentLocked`` naming the deployment while one holds the app's deploy lock."""
        holder = await self._store.deployments.lock_holder(app_id)
        if holder is not None:
            raise DeploymentLocked(
                f"app '{app_id}' is being deployed by deployment '{holder}'; wait or cancel it",
                holder=holder,
            )

    async def version_count(self, app_id: str) -> int:
        """How many versions the app has (deleting it is refused while there are any)."""
        return await self._store.versions.count_for_app(app_id)

    async def _ensure_server(self, server_id: str) -> None:
        try:
            await self._store.servers.get(server_id)
        except NotFound:
            raise InvalidInput.single("server_id", f"no server with id '{server_id}'") from None

    async def _ensure_name_free(self, name: str) -> None:
        if await self._store.apps.by_name(name) is not None:
            raise Conflict(f"an app named '{name}' already exists")

    async def _ensure_unique_on_server(self, app: App, values: dict[str, Any]) -> None:
        for column, label in _PER_SERVER_UNIQUE.items():
            if values.get(column) is not None and await self._store.apps.clash_on_server(
                app.server_id, column, values[column], skip_id=app.id
            ):
                raise Conflict(f"another app on this server already uses {label} {values[column]}")
        if "remote_path" in values:
            await self._ensure_no_overlap(app, values["remote_path"])

    async def _ensure_no_overlap(self, app: App, path: str) -> None:
        """One app's tree never holds another's: prune or set-up of one would touch both."""
        for other_id, name, other_path in await self._store.apps.paths_on(app.server_id):
            if other_id != app.id and paths_overlap(path, other_path):
                raise InvalidInput.single(
                    "remote_path", f"overlaps app '{name}' at {other_path} on this server"
                )

    async def _free_port(self, server_id: str) -> int:
        taken = await self._store.apps.ports_on(server_id)
        port = FIRST_APP_PORT
        while port in taken:
            port += 1
        return port
