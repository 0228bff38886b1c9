"""Versions: labelled builds of an app and their zips (see ``services/artifacts.py``)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import msgspec

from pbdeployer.errors import Conflict, InvalidInput, NotFound
from pbdeployer.models import (
    App,
    DeploymentStatus,
    Page,
    PageRequest,
    StoredZip,
    Version,
    VersionCreate,
    VersionFilter,
    make_page,
    new_id,
)
from pbdeployer.services._typed import typed_inputs
from pbdeployer.services.artifacts import ReceivedZip, VersionZips, ZipSource, copy_out
from pbdeployer.services.paging import checked_page
from pbdeployer.store import Store
from pbdeployer.validation import Problems, check_notes, check_types, check_version_label

ACTIVE_DEPLOYMENTS = (DeploymentStatus.QUEUED, DeploymentStatus.RUNNING)
_Write = Callable[[dict[str, Any]], Awaitable[Version]]


class LateFields(Protocol):
    """A new version's fields that may still be arriving while its zip streams in."""

    def so_far(self) -> VersionCreate | None:
        """The fields once the required ones have arrived, else None."""

    def complete(self) -> VersionCreate:
        """Every field, after the zip; ``InvalidInput`` names a required one still missing."""


class _Given:
    """Fields all known from the start, as ``LateFields``."""

    def __init__(self, data: VersionCreate) -> None:
        self._data = data

    def so_far(self) -> VersionCreate:
        return self._data

    def complete(self) -> VersionCreate:
        return self._data


@typed_inputs
class VersionService:
    def __init__(self, store: Store, zips: VersionZips) -> None:
        self._store = store
        self._zips = zips

    async def create(self, data: VersionCreate) -> Version:
        """Record a new version of an app, without its zip yet (see ``upload``)."""
        return await self._store.versions.add(await self._new_version(data))

    async def create_with_zip(self, data: VersionCreate | LateFields, source: ZipSource) -> Version:
        """Create a version and store its zip at once; neither is kept if either is refused.

        The fields are checked before the zip is read when they are all known by then (a bad
        form fails fast), and again, complete, once the zip is staged; the zip is checked after
        them, since what it must hold depends on the app. ``LateFields`` stand for a form whose
        fields may also follow its file part.
        """
        fields = _Given(data) if isinstance(data, VersionCreate) else data
        known = fields.so_far()
        if known is not None:
            await self._new_version(known)  # fail fast, before the zip is read
        async with self._zips.staging(source) as staging:
            version = await self._new_version(fields.complete())
            app = await self._store.apps.get(version.app_id)
            received = await staging.check(app.binary_name)
            async with self._zips.lock:
                return await self._record(received, lambda columns: self._add(version, columns))

    async def upload(self, version_id: str, source: ZipSource) -> Version:
        """Store the version's zip: a path, a binary file object, or an async byte stream.

        Refused (``Conflict``) once a deployment used the version: what ran must stay known.
        A replaced zip's blob is deleted when no other version shares it.
        """
        version = await self._store.versions.get(version_id)
        app = await self._store.apps.get(version.app_id)
        await self._refuse_if_deployed(version)
        async with (
            self._zips.receive(source, binary_name=app.binary_name) as received,
            self._zips.lock,
        ):
            current = await self._store.versions.get(version_id)
            await self._refuse_if_deployed(current)
            updated = await self._record(
                received, lambda fields: self._store.versions.change(version_id, fields)
            )
            if current.zip_sha256 != updated.zip_sha256:
                await self._zips.release(current.zip_sha256)
            return updated

    async def stored_zip(self, version_id: str) -> StoredZip:
        """Where the version's zip is stored; ``NotFound`` until one was uploaded."""
        version = await self._store.versions.get(version_id)
        if version.zip_sha256 is None:
            raise NotFound(f"version '{version_id}' has no zip yet; upload one first")
        app = await self._store.apps.get(version.app_id)
        return self._zips.stored(version.zip_sha256, _zip_filename(app, version))

    def read_zip(self, stored: StoredZip, start: int, stop: int) -> AsyncIterator[bytes]:
        """Bytes ``start`` up to ``stop`` of a stored zip, read without blocking the loop."""
        return self._zips.blobs.read_range(stored.sha256, start, stop)

    async def download(self, version_id: str, dest: str | os.PathLike[str]) -> Path:
        """Copy the version's zip to ``dest`` (a directory gets ``<app>-<version>.zip``)."""
        return await copy_out(await self.stored_zip(version_id), dest)

    async def get(self, version_id: str) -> Version:
        """The version, or ``NotFound``."""
        return await self._store.versions.get(version_id)

    async def list(
        self, flt: VersionFilter | None = None, page: PageRequest | None = None
    ) -> Page[Version]:
        """Versions matching ``flt`` (app), one page at a time."""
        request = checked_page(page or PageRequest())
        items, total = await self._store.versions.list(flt or VersionFilter(), request)
        return make_page(items, request, total)

    async def delete(self, version_id: str) -> None:
        """Refused while live or deploying; its zip goes when no other version shares it."""
        version = await self._store.versions.get(version_id)
        app = await self._store.apps.get(version.app_id)
        if app.current_version == version.id:
            raise Conflict(f"version '{version.version_number}' is the app's current version")
        async with self._zips.lock:
            current = await self._store.versions.get(version_id)
            await self._store.versions.remove_unless_deploying(version_id, ACTIVE_DEPLOYMENTS)
            await self._zips.release(current.zip_sha256)

    async def _new_version(self, data: VersionCreate) -> Version:
        """A valid version not saved yet; refuses a bad label, unknown app or taken number."""
        check_types(data)
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
        return Version(
            id=new_id(),
            created=now,
            updated=now,
            app_id=data.app_id,
            version_number=data.version_number,
            deployment_zip=None,
            notes=data.notes,
        )

    async def _add(self, version: Version, fields: dict[str, Any]) -> Version:
        return await self._store.versions.add(msgspec.structs.replace(version, **fields))

    async def _record(self, received: ReceivedZip, write: _Write) -> Version:
        """Commit the blob, then write the row; a failed write releases the blob again."""
        sha256 = await self._zips.commit(received)
        try:
            return await write(received.version_fields(datetime.now(UTC)))
        except BaseException:
            await self._zips.release(sha256)
            raise

    async def _refuse_if_deployed(self, version: Version) -> None:
        if await self._store.deployments.count_for_version(version.id):
            raise Conflict(
                f"version '{version.version_number}' has been deployed, so its zip cannot be "
                "replaced; create a new version instead"
            )


def _zip_filename(app: App, version: Version) -> str:
    return f"{app.name}-{version.version_number}.zip"
