"""BlobStore: streamed, hashed, stored once by sha256, and never leaves partial files behind."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import subprocess
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from pbdeployer.artifacts import BlobStore, StagedBlob
from pbdeployer.errors import InvalidInput, NotFound, PayloadTooLarge, StorageFull

CHUNK = 64 << 10
MIB = 1 << 20


async def stream(data: bytes, chunk: int = CHUNK) -> AsyncIterator[bytes]:
    for start in range(0, len(data), chunk):
        await asyncio.sleep(0)
        yield data[start : start + chunk]


def leftovers(store: BlobStore) -> list[Path]:
    tmp = store.root / "tmp"
    return sorted(tmp.iterdir()) if tmp.exists() else []


def stored_files(store: BlobStore) -> list[Path]:
    return sorted(p for p in (store.root / "sha256").rglob("*") if p.is_file())


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MiB filesystem, so a full disk is a real ENOSPC (needs root, as host tests do)."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=True)


async def test_receive_then_commit_stores_by_sha256(store: BlobStore) -> None:
    data = os.urandom(3 * MIB + 123)
    digest = hashlib.sha256(data).hexdigest()
    staged = await store.receive(stream(data), max_size=4 * MIB)
    assert (staged.sha256, staged.size) == (digest, len(data))
    assert staged.path.parent == store.root / "tmp"
    assert store.commit(staged) == digest
    target = store.root / "sha256" / digest[:2] / digest
    assert store.path(digest) == target
    assert target.read_bytes() == data
    assert target.stat().st_mode & 0o222 == 0
    assert store.exists(digest)
    assert store.size(digest) == len(data)
    assert leftovers(store) == []


async def test_identical_content_is_stored_once(store: BlobStore) -> None:
    data = os.urandom(2 * MIB)
    first, second = await asyncio.gather(
        store.receive(stream(data), max_size=4 * MIB),
        store.receive(stream(data, chunk=1000), max_size=4 * MIB),
    )
    assert first.path != second.path
    assert store.commit(first) == store.commit(second)
    assert stored_files(store) == [store.path(first.sha256)]
    assert leftovers(store) == []


async def test_upload_of_exactly_max_size_is_accepted(store: BlobStore) -> None:
    staged = await store.receive(stream(bytes(2 * MIB)), max_size=2 * MIB)
    assert staged.size == 2 * MIB


async def test_payload_too_large_stops_reading_and_leaves_nothing(store: BlobStore) -> None:
    consumed = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal consumed
        while True:
            consumed += CHUNK
            yield bytes(CHUNK)

    with pytest.raises(PayloadTooLarge, match=r"larger than the 2\.0 MiB limit"):
        await store.receive(endless(), max_size=2 * MIB)
    assert consumed == 2 * MIB + CHUNK
    assert leftovers(store) == []


async def test_failing_source_leaves_nothing(store: BlobStore) -> None:
    async def dropped() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield os.urandom(CHUNK)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await store.receive(dropped(), max_size=100 * MIB)
    assert leftovers(store) == []


async def test_cancelled_receive_leaves_nothing(store: BlobStore) -> None:
    never = asyncio.Event()

    async def stalls() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield os.urandom(CHUNK)
        await never.wait()
        yield b"unreachable"

    task = asyncio.create_task(store.receive(stalls(), max_size=100 * MIB))
    deadline = time.monotonic() + 10
    while not any(p.stat().st_size > MIB for p in leftovers(store)):
        assert time.monotonic() < deadline, "the upload never reached the disk"
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert leftovers(store) == []


async def test_full_disk_raises_storage_full_and_leaves_nothing(small_disk: Path) -> None:
    store = BlobStore(small_disk)
    with pytest.raises(StorageFull, match="full") as caught:
        await store.receive(stream(os.urandom(8 * MIB)), max_size=100 * MIB)
    assert isinstance(caught.value, OSError)
    assert leftovers(store) == []
    with pytest.raises(StorageFull):
        store.stage_file(io.BytesIO(os.urandom(8 * MIB)))
    assert leftovers(store) == []


async def test_reserve_of_free_space_is_kept(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs", min_free_bytes=1 << 60)
    with pytest.raises(StorageFull, match="must stay free"):
        await store.receive(stream(os.urandom(2 * MIB)), max_size=100 * MIB)
    assert leftovers(store) == []


@pytest.mark.slow
async def test_memory_stays_flat_while_receiving_a_large_stream(store: BlobStore) -> None:
    size = 200 * MIB
    expected = hashlib.sha256()

    async def generated() -> AsyncIterator[bytes]:
        for _ in range(size // CHUNK):
            chunk = os.urandom(CHUNK)
            expected.update(chunk)
            yield chunk

    tracemalloc.start()
    started = time.perf_counter()
    try:
        staged = await store.receive(generated(), max_size=size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    print(f"received {size // MIB} MiB in {elapsed:.2f} s, traced peak {peak / MIB:.1f} MiB")
    assert staged.sha256 == expected.hexdigest()
    assert staged.path.stat().st_size == size
    assert peak < 8 * MIB


def test_stage_file_from_path_and_file_object(store: BlobStore, tmp_path: Path) -> None:
    data = os.urandom(MIB + 7)
    source = tmp_path / "app.zip"
    source.write_bytes(data)
    from_path = store.stage_file(source)
    from_object = store.stage_file(io.BytesIO(data))
    assert from_path.sha256 == from_object.sha256 == hashlib.sha256(data).hexdigest()
    assert from_path.path.read_bytes() == data
    store.discard(from_object)
    assert leftovers(store) == [from_path.path]
    with pytest.raises(PayloadTooLarge):
        store.stage_file(source, max_size=MIB)
    assert leftovers(store) == [from_path.path]


def test_staged_blobs_from_elsewhere_are_refused(store: BlobStore, tmp_path: Path) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    foreign = StagedBlob(path=precious, sha256="0" * 64, size=7)
    with pytest.raises(ValueError, match="not staged by the blob store"):
        store.commit(foreign)
    with pytest.raises(ValueError, match="not staged by the blob store"):
        store.discard(foreign)
    assert precious.read_text() == "keep me"


async def test_read_range(store: BlobStore) -> None:
    data = os.urandom(100_000)
    digest = store.commit(await store.receive(stream(data), max_size=MIB))

    async def read(start: int = 0, end: int | None = None) -> bytes:
        parts = [part async for part in store.read_range(digest, start, end, chunk_size=4096)]
        assert all(len(part) <= 4096 for part in parts)
        return b"".join(parts)

    assert await read() == data
    assert await read(10, 50_000) == data[10:50_000]
    assert await read(99_999) == data[99_999:]
    assert await read(500, 500) == b""
    for start, end in ((-1, 10), (10, 5), (0, 100_001)):
        with pytest.raises(InvalidInput):
            store.read_range(digest, start, end)
    with pytest.raises(NotFound):
        store.read_range("a" * 64)


def test_sha256_must_be_lowercase_hex(store: BlobStore) -> None:
    for bad in ("A" * 64, "a" * 63, "../" + "a" * 61, ""):
        with pytest.raises(InvalidInput):
            store.path(bad)


async def test_delete(store: BlobStore) -> None:
    digest = store.commit(await store.receive(stream(b"zip bytes"), max_size=MIB))
    assert store.delete(digest) is True
    assert not store.exists(digest)
    assert store.delete(digest) is False
    with pytest.raises(NotFound):
        store.size(digest)


def test_sweep_tmp_removes_only_stale_uploads(store: BlobStore) -> None:
    assert store.sweep_tmp() == 0
    stale = store.stage_file(io.BytesIO(b"old")).path
    fresh = store.stage_file(io.BytesIO(b"new")).path
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    assert store.sweep_tmp(older_than=3600) == 1
    assert leftovers(store) == [fresh]
