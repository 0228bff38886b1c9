"""Content-addressed storage for version zips: one file per distinct sha256.

An upload streams into ``root/tmp/`` while being hashed, so memory stays flat and a half-received
file never sits where a reader could find it. ``commit`` renames the finished, fsynced file to
``root/sha256/<first two hex digits>/<sha256>`` (atomic on one filesystem); identical content
is stored once. Disk writes run in worker threads so an event loop keeps serving meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import re
import tempfile
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import msgspec

from pbdeployer.artifacts._reject import human_size
from pbdeployer.errors import InvalidInput, NotFound, PayloadTooLarge, StorageFull

__all__ = ["BlobStore", "StagedBlob"]

_SHA256 = re.compile(r"[0-9a-f]{64}")
_BATCH = 1 << 20
_TMP_PREFIX = "upload-"
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
_BLOB_MODE = 0o400  # blobs never change once committed, and are their owner's only
_DIR_MODE = 0o700


class StagedBlob(msgspec.Struct, frozen=True, kw_only=True):
    """A fully received, hashed and fsynced upload waiting in tmp/ for commit or discard."""

    path: Path
    sha256: str
    size: int


class BlobStore:
    """Zips stored by sha256 under ``root``; safe for concurrent uploads of the same content."""

    def __init__(self, root: Path, *, min_free_bytes: int = 0) -> None:
        self.root: Path = root.absolute()  # staged files are recognised by their absolute path
        self._tmp = self.root / "tmp"
        self._blobs = self.root / "sha256"
        self._min_free_bytes = min_free_bytes

    async def receive(self, chunks: AsyncIterable[bytes], *, max_size: int) -> StagedBlob:
        """Stream chunks to a temp file; the temp file is gone if this raises or is cancelled."""
        upload = _Upload(self._tmp, self._min_free_bytes)
        try:
            return await _fill(upload, chunks, max_size)
        except BaseException:
            upload.abort()
            raise

    def stage_file(self, source: Path | BinaryIO, *, max_size: int | None = None) -> StagedBlob:
        """Copy a local file or open binary file object into tmp/, hashing it on the way."""
        upload = _Upload(self._tmp, self._min_free_bytes)
        try:
            with _opened(source) as fp:
                while chunk := fp.read(_BATCH):
                    if max_size is not None and upload.size + len(chunk) > max_size:
                        raise _too_large(max_size)
                    upload.write([chunk])
            return upload.finish()
        except BaseException:
            upload.abort()
            raise

    def commit(self, staged: StagedBlob) -> str:
        """Move a staged upload into place and return its sha256; no data is copied."""
        self._check_staged(staged)
        target = self.path(staged.sha256)
        if target.exists():
            staged.path.unlink(missing_ok=True)
            return staged.sha256
        new_shard = not target.parent.exists()
        target.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        staged.path.chmod(_BLOB_MODE)
        staged.path.rename(target)
        _fsync_dir(target.parent)
        if new_shard:
            _fsync_dir(self._blobs)
        return staged.sha256

    def discard(self, staged: StagedBlob) -> None:
        """Drop a staged upload that will not be committed."""
        self._check_staged(staged)
        staged.path.unlink(missing_ok=True)

    def path(self, sha256: str) -> Path:
        """Where the blob lives (or would live); refuses anything but a lowercase sha256."""
        if not _SHA256.fullmatch(sha256):
            raise InvalidInput.single("sha256", "must be 64 lowercase hexadecimal digits")
        return self._blobs / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def size(self, sha256: str) -> int:
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            raise _missing(sha256) from None

    def delete(self, sha256: str) -> bool:
        """Remove a blob; False when it was not there."""
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def read_range(
        self, sha256: str, start: int = 0, end: int | None = None, *, chunk_size: int = _BATCH
    ) -> AsyncIterator[bytes]:
        """Bytes ``start`` up to (not including) ``end`` of a blob, read in worker threads.

        The range is checked here, before the first chunk, so a bad request fails early.
        """
        total = self.size(sha256)
        stop = total if end is None else end
        if not 0 <= start <= stop <= total:
            raise InvalidInput.single(
                "range", f"bytes {start}-{stop} fall outside the blob's {total} bytes"
            )
        return _read_chunks(self.path(sha256), start, stop, chunk_size)

    def sweep_tmp(self, older_than: float = 3600.0) -> int:
        """Delete uploads a crashed process left in tmp/; returns how many were removed."""
        if not self._tmp.is_dir():
            return 0
        cutoff = time.time() - older_than
        removed = 0
        for leftover in self._tmp.glob(f"{_TMP_PREFIX}*"):
            with contextlib.suppress(FileNotFoundError):
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
                    removed += 1
        return removed

    def _check_staged(self, staged: StagedBlob) -> None:
        if staged.path.parent != self._tmp or not staged.path.name.startswith(_TMP_PREFIX):
            raise ValueError(f"{staged.path} was not staged by the blob store at {self.root}")


class _Upload:
    """One upload in progress: its temp file, running hash and size."""

    def __init__(self, directory: Path, min_free_bytes: int) -> None:
        with _storage_errors():
            directory.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=directory)
        self.path = Path(name)
        self.size = 0
        self._file = os.fdopen(fd, "wb")
        self._hash = hashlib.sha256()
        self._min_free_bytes = min_free_bytes

    def write(self, parts: Sequence[bytes]) -> None:
        batch = sum(len(part) for part in parts)
        with _storage_errors():
            self._check_free(batch)
            for part in parts:
                self._hash.update(part)
                self._file.write(part)
        self.size += batch

    def finish(self) -> StagedBlob:
        with _storage_errors():
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
        return StagedBlob(path=self.path, sha256=self._hash.hexdigest(), size=self.size)

    def abort(self) -> None:
        """Close and delete the temp file; safe while a worker thread still writes to it."""
        with contextlib.suppress(OSError, ValueError):
            self._file.close()  # the buffered file's lock waits for an in-flight write
        self.path.unlink(missing_ok=True)

    def _check_free(self, incoming: int) -> None:
        if not self._min_free_bytes:
            return
        stats = os.statvfs(self.path.parent)
        free = stats.f_bavail * stats.f_frsize
        if free - incoming < self._min_free_bytes:
            raise StorageFull(
                f"only {human_size(free)} free in {self.path.parent}, and "
                f"{human_size(self._min_free_bytes)} must stay free; delete old versions or "
                "make room on the disk"
            )


async def _fill(upload: _Upload, chunks: AsyncIterable[bytes], max_size: int) -> StagedBlob:
    """Gather chunks into ~1 MiB batches and write each batch in a worker thread."""
    pending: list[bytes] = []
    pending_size = 0
    async for chunk in chunks:
        if upload.size + pending_size + len(chunk) > max_size:
            raise _too_large(max_size)
        pending.append(chunk)
        pending_size += len(chunk)
        if pending_size >= _BATCH:
            await asyncio.to_thread(upload.write, pending)
            pending, pending_size = [], 0
    if pending:
        await asyncio.to_thread(upload.write, pending)
    return await asyncio.to_thread(upload.finish)


async def _read_chunks(path: Path, start: int, stop: int, chunk_size: int) -> AsyncIterator[bytes]:
    fp = await asyncio.to_thread(path.open, "rb")
    try:
        fp.seek(start)
        left = stop - start
        while left > 0:
            chunk = await asyncio.to_thread(fp.read, min(left, chunk_size))
            if not chunk:
                raise OSError(f"{path} ended {left} bytes early; the blob store is damaged")
            left -= len(chunk)
            yield chunk
    finally:
        fp.close()


@contextlib.contextmanager
def _storage_errors() -> Iterator[None]:
    """Report a full disk (or quota) as StorageFull; other I/O errors pass unchanged."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _NO_SPACE and not isinstance(exc, StorageFull):
            raise StorageFull(
                f"the disk holding the blob store is full ({exc.strerror}); delete old "
                "versions or make room on the disk"
            ) from exc
        raise


@contextlib.contextmanager
def _opened(source: Path | BinaryIO) -> Iterator[BinaryIO]:
    if isinstance(source, Path):
        with source.open("rb") as fp:
            yield fp
    else:
        yield source


def _too_large(max_size: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the upload is larger than the {human_size(max_size)} limit; leave pb_data and other "
        "large files out of the zip, or raise the limit"
    )


def _missing(sha256: str) -> NotFound:
    return NotFound(f"no stored zip has sha256 {sha256}")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
