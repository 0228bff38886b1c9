"""Servers: register, list, change and forget the hosts pbdeployer manages."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from pbdeployer.errors import Conflict
from pbdeployer.models import (
    Page,
    PageRequest,
    Server,
    ServerCreate,
    ServerFilter,
    ServerUpdate,
    make_page,
    new_id,
)
from pbdeployer.services._typed import typed_inputs
from pbdeployer.services.paging import checked_page
from pbdeployer.store import Store
from pbdeployer.validation import (
    Problems,
    check_hostname,
    check_key_path,
    check_name,
    check_port,
    check_posix_user,
    check_types,
)


def _validate(data: ServerCreate | ServerUpdate) -> None:
    check_types(data)
    problems = Problems()
    problems.check("name", data.name, check_name)
    problems.check("host", data.host, check_hostname)
    problems.check("port", data.port, check_port)
    problems.check("root_username", data.root_username, check_posix_user)
    problems.check("app_username", data.app_username, check_posix_user)
    problems.check("manual_key_path", data.manual_key_path, check_key_path)
    problems.raise_if_any()


@typed_inputs
class ServerService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def create(self, data: ServerCreate) -> Server:
        """Add a server after validating every field; ``Conflict`` when the name is taken."""
        _validate(data)
        await self._ensure_name_free(data.name)
        now = datetime.now(UTC)
        server = Server(
            id=new_id(),
            created=now,
            updated=now,
            setup_complete=False,
            security_locked=False,
            **msgspec.structs.asdict(data),
        )
        return await self._store.servers.add(server)

    async def get(self, server_id: str) -> Server:
        """The server, or ``NotFound``."""
        return await self._store.servers.get(server_id)

    async def list(
        self, flt: ServerFilter | None = None, page: PageRequest | None = None
    ) -> Page[Server]:
        """Servers matching ``flt`` (name search), one page at a time."""
        request = checked_page(page or PageRequest())
        items, total = await self._store.servers.list(flt or ServerFilter(), request)
        return make_page(items, request, total)

    async def update(self, server_id: str, changes: ServerUpdate) -> Server:
        """Change the given fields (validated like ``create``); the rest stay as they are."""
        _validate(changes)
        current = await self._store.servers.get(server_id)
        values = msgspec.to_builtins(changes)
        if "name" in values and values["name"] != current.name:
            await self._ensure_name_free(values["name"])
        if not values:
            return current
        values["updated"] = datetime.now(UTC)
        return await self._store.servers.change(server_id, values)

    async def delete(self, server_id: str) -> None:
        """Remove the server; ``Conflict`` while apps are placed on it."""
        await self._store.servers.get(server_id)
        apps = await self._store.apps.count_on_server(server_id)
        if apps:
            raise Conflict(
                f"server '{server_id}' still has {apps} app(s); delete or move them first"
            )
        await self._store.servers.remove(server_id)

    async def _ensure_name_free(self, name: str) -> None:
        if await self._store.servers.by_name(name) is not None:
            raise Conflict(f"a server named '{name}' already exists")
