"""The data dir's lock and modes, and what a read-only Deployer may do, in one process."""

from __future__ import annotations

import asyncio
import io
import os
import stat
from pathlib import Path

import pytest

from pbdeployer import AppCreate, Deployer, ServerCreate, Settings, VersionCreate
from pbdeployer.artifacts import BlobStore
from pbdeployer.errors import DataDirLocked, NotFound, ReadOnlyDeployer
from pbdeployer.services import DataDirLock, make_private
from tests.pocketbase import build_app_zip
from tests.unit.artifacts.zip_corpus import FAKE_BINARY


def test_a_second_lock_is_refused_until_the_first_is_released(tmp_path):
    first, second = DataDirLock(tmp_path), DataDirLock(tmp_path)
    first.acquire()

    with pytest.raises(DataDirLocked, match=f"in use by process {os.getpid()}") as caught:
        second.acquire()
    assert caught.value.pid == os.getpid()
    assert not second.held

    first.release()
    second.acquire()
    assert second.held
    second.release()


def test_make_private_tightens_what_is_there_and_leaves_links_alone(tmp_path):
    root = tmp_path / "data"
    (root / "blobs" / "ab").mkdir(parents=True)
    for directory in (root, root / "blobs", root / "blobs" / "ab"):
        directory.chmod(0o755)
    blob = root / "blobs" / "ab" / "blob"
    blob.write_text("zip")
    blob.chmod(0o444)
    outside = tmp_path / "outside"
    outside.mkdir(mode=0o755)
    outside.chmod(0o755)
    (root / "link").symlink_to(outside, target_is_directory=True)

    make_private(root)

    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "blobs" / "ab").stat().st_mode) == 0o700
    assert stat.S_IMODE(blob.stat().st_mode) == 0o400
    assert stat.S_IMODE(outside.stat().st_mode) == 0o755


def test_two_deployers_on_one_data_dir_in_one_process(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")

    async def both() -> None:
        async with Deployer.open(settings) as owner:
            await owner.servers.create(ServerCreate(name="web1", host="192.0.2.1"))
            with pytest.raises(DataDirLocked):
                await Deployer.open(settings).start()
            async with Deployer.open(settings, read_only=True) as reader:
                assert [s.name for s in (await reader.servers.list()).items] == ["web1"]
                with pytest.raises(ReadOnlyDeployer, match=r"deployer\.apps\.delete"):
                    await reader.apps.delete("01JH8Z6X4T3D3Q9V4W0Y5K7B2M")
                with pytest.raises(ReadOnlyDeployer, match=r"deployer\.versions\.upload"):
                    await reader.versions.upload("01JH8Z6X4T3D3Q9V4W0Y5K7B2M", b"")  # type: ignore[arg-type]
        async with Deployer.open(settings):  # the lock went with the owner
            pass

    asyncio.run(both())
    assert not (settings.blobs_dir / "tmp").exists()


def test_the_read_only_database_refuses_writes_itself(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")

    async def write_behind_its_back() -> None:
        async with Deployer.open(settings):
            pass
        reader = Deployer.open(settings, read_only=True)
        async with reader, reader.database.engine.begin() as conn:
            await conn.exec_driver_sql("DELETE FROM servers")

    with pytest.raises(Exception, match=r"attempt to write a readonly database"):
        asyncio.run(write_behind_its_back())


def test_a_read_only_deployer_needs_an_existing_database(tmp_path: Path):
    async def open_nothing() -> None:
        async with Deployer.open(Settings(data_dir=tmp_path / "none"), read_only=True):
            pass

    with pytest.raises(NotFound, match="no database"):
        asyncio.run(open_nothing())
    assert not (tmp_path / "none").exists()


def test_a_relative_data_dir_stores_and_returns_zips(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    zip_path = build_app_zip(tmp_path / "app.zip", binary=FAKE_BINARY)

    async def round_trip() -> Path:
        async with Deployer.open(Settings(data_dir=Path("state"))) as deployer:
            server = await deployer.servers.create(ServerCreate(name="web1", host="192.0.2.1"))
            app = await deployer.apps.create(AppCreate(name="blog", server_id=server.id))
            version = await deployer.versions.create_with_zip(
                VersionCreate(app_id=app.id, version_number="1.0.0"), zip_path
            )
            return await deployer.versions.download(version.id, tmp_path / "out")

    assert asyncio.run(round_trip()).read_bytes() == zip_path.read_bytes()
    assert list((tmp_path / "state" / "blobs" / "tmp").iterdir()) == []


def test_a_blob_store_on_a_relative_root_commits_what_it_staged(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = BlobStore(Path("blobs"))

    sha256 = store.commit(store.stage_file(io.BytesIO(b"zip bytes")))

    assert store.path(sha256).read_bytes() == b"zip bytes"
