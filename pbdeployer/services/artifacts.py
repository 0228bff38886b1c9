"""Version zips on this machine: receiving, checking, storing, sharing and handing them out.

An upload is staged in the blob store's ``tmp/`` (hashed while it streams in), checked with
``inspect_zip`` in a worker thread, and only then committed under its sha256. A refused or
abandoned upload leaves nothing behind, in ``tmp/`` or in the store.

Versions with the same content share one blob, so a blob may only be deleted once no version
references it. ``VersionZips.lock`` serializes the steps that commit, reference and release
blobs within this process; several processes sharing one data dir would need a database lock
instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from pbdeployer.artifacts import (
    ArchiveInfo,
    ArchiveLimits,
    BlobStore,
    RejectCode,
    StagedBlob,
    inspect_zip,
)
from pbdeployer.errors import InvalidInput, NotFound
from pbdeployer.models import StoredZip, zip_address
from pbdeployer.settings import Settings
from pbdeployer.store import VersionRepository

_DOWNLOAD_MODE = 0o644

__all__ = [
    "ReceivedZip",
    "RejectCode",
    "StagingZip",
    "VersionZips",
    "ZipPolicy",
    "ZipSource",
    "copy_out",
]

ZipSource = str | os.PathLike[str] | BinaryIO | AsyncIterable[bytes]
"""A zip to upload: a local path, an open binary file, or chunks arriving from a request."""


class ZipPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How large an upload may be and how much its zip may ask a host to unpack."""

    max_upload_bytes: int = 1 << 30
    limits: ArchiveLimits = ArchiveLimits()

    @classmethod
    def from_settings(cls, settings: Settings) -> ZipPolicy:
        limits = ArchiveLimits(
            max_entries=settings.zip_max_entries,
            max_uncompressed=settings.zip_max_uncompressed_bytes,
            max_ratio=settings.zip_max_ratio,
        )
        return cls(max_upload_bytes=settings.max_upload_bytes, limits=limits)


class ReceivedZip:
    """A checked upload still in ``tmp/``; ``VersionZips.commit`` moves it into the store."""

    def __init__(self, staged: StagedBlob, info: ArchiveInfo) -> None:
        self.staged = staged
        self.info = info
        self.committed = False

    def version_fields(self, now: datetime) -> dict[str, Any]:
        """The version columns that describe this zip."""
        return {
            "deployment_zip": zip_address(self.staged.sha256),
            "zip_sha256": self.staged.sha256,
            "zip_size": self.staged.size,
            "zip_entry_count": self.info.entry_count,
            "zip_migrations": list(self.info.migrations),
            "uploaded_at": now,
            "updated": now,
        }


class StagingZip:
    """An upload in ``tmp/``, not yet checked; see ``VersionZips.staging``."""

    def __init__(self, zips: VersionZips, staged: StagedBlob) -> None:
        self.staged = staged
        self.received: ReceivedZip | None = None
        self._limits = zips.policy.limits

    async def check(self, binary_name: str) -> ReceivedZip:
        """Inspect the zip (in a worker thread); refused zips raise ``ArtifactRejected``."""
        info = await asyncio.to_thread(
            inspect_zip, self.staged.path, limits=self._limits, binary_name=binary_name
        )
        self.received = ReceivedZip(self.staged, info)
        return self.received


class VersionZips:
    """The blob store seen from versions: uploads in, shared blobs released when unused."""

    def __init__(self, blobs: BlobStore, versions: VersionRepository, policy: ZipPolicy) -> None:
        self.blobs = blobs
        self.policy = policy
        self.lock: asyncio.Lock = asyncio.Lock()
        self._versions = versions

    @contextlib.asynccontextmanager
    async def receive(self, source: ZipSource, *, binary_name: str) -> AsyncIterator[ReceivedZip]:
        """Stage and check an upload; it is discarded on leaving unless committed meanwhile."""
        async with self.staging(source) as staging:
            yield await staging.check(binary_name)

    @contextlib.asynccontextmanager
    async def staging(self, source: ZipSource) -> AsyncIterator[StagingZip]:
        """Stage an upload to check later (when what to check it for is known only after it
        arrived); it is discarded on leaving unless committed meanwhile."""
        staging = StagingZip(self, await self._stage(source))
        try:
            yield staging
        finally:
            if staging.received is None or not staging.received.committed:
                self.blobs.discard(staging.staged)

    async def commit(self, received: ReceivedZip) -> str:
        """Move the upload into the store (call with ``lock`` held); returns its sha256."""
        sha256 = await asyncio.to_thread(self.blobs.commit, received.staged)
        received.committed = True
        return sha256

    async def release(self, sha256: str | None) -> None:
        """Delete a blob no version references any more (call with ``lock`` held)."""
        if sha256 is not None and not await self._versions.count_with_zip(sha256):
            self.blobs.delete(sha256)

    def stored(self, sha256: str, filename: str) -> StoredZip:
        path = self.blobs.path(sha256)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise NotFound(
                f"the zip with sha256 {sha256} is missing from {self.blobs.root}; upload it again"
            ) from None
        return StoredZip(path=path, sha256=sha256, size=size, filename=filename)

    async def _stage(self, source: ZipSource) -> StagedBlob:
        limit = self.policy.max_upload_bytes
        if isinstance(source, AsyncIterable):
            return await self.blobs.receive(source, max_size=limit)
        if isinstance(source, str | os.PathLike):
            source = _existing_file(Path(source))
        return await asyncio.to_thread(self.blobs.stage_file, source, max_size=limit)


def _existing_file(path: Path) -> Path:
    if not path.is_file():
        raise InvalidInput.single("source", f"{path} is not a file")
    return path


async def copy_out(stored: StoredZip, dest: str | os.PathLike[str]) -> Path:
    """Copy a stored zip to ``dest`` (a file, or a directory to put ``filename`` in)."""
    return await asyncio.to_thread(_copy_atomically, stored, Path(dest))


def _copy_atomically(stored: StoredZip, dest: Path) -> Path:
    """A reader of the copy sees the old file or the whole new one, never a partial copy."""
    target = dest / stored.filename if dest.is_dir() else dest
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(fd)
    try:
        shutil.copyfile(stored.path, partial)
        os.chmod(partial, _DOWNLOAD_MODE)
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return target
