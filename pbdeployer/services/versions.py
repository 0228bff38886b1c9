"""Versions: labelled builds of an app (their zips arrive through uploads)."""

from __future__ import annotations

from datetime import UTC, datetime

from pbdeployer.errors import Conflict, InvalidInput, NotFound
from pbdeployer.models import (
    Page,
    PageRequest,
    Version,
    VersionCreate,
    VersionFilter,
    make_page,
    new_id,
)
from pbdeployer.services.paging import checked_page
from pbdeployer.store import Store
from pbdeployer.validation import Problems, check_notes, check_version_label


class VersionService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def create(self, data: VersionCreate) -> Version:
        problems = Problems()
        problems.check("version_number", data.version_number, check_version_label)
        problems.check("notes", data.notes, check_notes)
        problems.raise_if_any()
        try:
            await self._store.apps.get(data.app_id)
        except NotFound:
            raise InvalidInput.single("app_id", f"no app with id '{data.app_id}'") from None
        if await self._store.versions.by_number(data.app_id, data.version_number):
            raise Conflict(f"version '{data.version_number}' already exists for this app")
        now = datetime.now(UTC)
        version = Version(
            id=new_id(),
            created=now,
            updated=now,
            app_id=data.app_id,
            version_number=data.version_number,
            deployment_zip=None,
            notes=data.notes,
        )
        return await self._store.versions.add(version)

    async def get(self, version_id: str) -> Version:
        return await self._store.versions.get(version_id)

    async def list(
        self, flt: VersionFilter | None = None, page: PageRequest | None = None
    ) -> Page[Version]:
        request = checked_page(page or PageRequest())
        items, total = await self._store.versions.list(flt or VersionFilter(), request)
        return make_page(items, request, total)

    async def delete(self, version_id: str) -> None:
        version = await self._store.versions.get(version_id)
        app = await self._store.apps.get(version.app_id)
        if app.current_version == version.version_number:
            raise Conflict(f"version '{version.version_number}' is the app's current version")
        await self._store.versions.remove(version_id)
