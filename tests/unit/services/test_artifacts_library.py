"""Version zips through the library: deployer.versions.upload / download / create_with_zip."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import sqlite3
import stat
import time
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine

from pbdeployer import (
    AppCreate,
    Conflict,
    Deployer,
    InvalidInput,
    NotFound,
    ServerCreate,
    Settings,
    Version,
    VersionCreate,
)
from pbdeployer.artifacts import RejectCode
from pbdeployer.errors import ArtifactRejected, PayloadTooLarge
from pbdeployer.models import new_id
from tests.pocketbase import build_app_zip
from tests.unit.artifacts.zip_corpus import FAKE_BINARY

MIGRATIONS = {"1700000001_posts.js": "migrate();", "1700000000_init.js": "migrate();"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
async def deployer(settings: Settings) -> AsyncIterator[Deployer]:
    async with Deployer.open(settings) as opened:
        yield opened


@pytest.fixture
async def version(deployer: Deployer) -> Version:
    server = await deployer.servers.create(ServerCreate(name="web1", host="203.0.113.10"))
    app = await deployer.apps.create(AppCreate(name="blog", server_id=server.id))
    return await deployer.versions.create(VersionCreate(app_id=app.id, version_number="1.0.0"))


@pytest.fixture
def zip_path(tmp_path: Path) -> Path:
    return build_app_zip(tmp_path / "app.zip", binary=FAKE_BINARY, migrations=MIGRATIONS)


def blob_files(settings: Settings) -> list[Path]:
    root = settings.blobs_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def chunks(data: bytes, size: int = 4096) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        await asyncio.sleep(0)
        yield data[start : start + size]


@pytest.mark.parametrize("kind", ["path", "str", "fileobj", "stream"])
async def test_upload_from_every_kind_of_source(deployer, settings, version, zip_path, kind):
    data = zip_path.read_bytes()
    source = {
        "path": zip_path,
        "str": str(zip_path),
        "fileobj": io.BytesIO(data),
        "stream": chunks(data),
    }[kind]

    uploaded = await deployer.versions.upload(version.id, source)

    assert uploaded.zip_sha256 == digest(zip_path)
    assert uploaded.deployment_zip == f"sha256:{uploaded.zip_sha256}"
    assert (uploaded.zip_size, uploaded.zip_entry_count) == (len(data), 3)
    assert uploaded.zip_migrations == sorted(MIGRATIONS)
    assert uploaded.uploaded_at is not None
    assert await deployer.versions.get(version.id) == uploaded
    assert len(blob_files(settings)) == 1


async def test_download_to_a_directory_or_a_file(deployer, version, zip_path, tmp_path):
    await deployer.versions.upload(version.id, zip_path)
    folder = tmp_path / "out"
    folder.mkdir()

    named = await deployer.versions.download(version.id, folder)
    chosen = await deployer.versions.download(version.id, tmp_path / "copy.zip")

    assert named == folder / "blog-1.0.0.zip"
    assert chosen == tmp_path / "copy.zip"
    for copy in (named, chosen):
        assert copy.read_bytes() == zip_path.read_bytes()
        assert stat.S_IMODE(copy.stat().st_mode) == 0o644
    assert sorted(p.name for p in folder.iterdir()) == ["blog-1.0.0.zip"]
    assert await deployer.versions.download(version.id, chosen) == chosen  # overwrites


async def test_stored_zip_says_where_and_what(deployer, settings, version, zip_path):
    await deployer.versions.upload(version.id, zip_path)

    stored = await deployer.versions.stored_zip(version.id)

    sha = digest(zip_path)
    assert stored.path == settings.blobs_dir / "sha256" / sha[:2] / sha
    assert (stored.sha256, stored.size, stored.filename) == (
        sha,
        zip_path.stat().st_size,
        "blog-1.0.0.zip",
    )


async def test_download_without_a_zip_is_not_found(deployer, settings, version, zip_path):
    with pytest.raises(NotFound, match="no zip yet"):
        await deployer.versions.download(version.id, settings.data_dir)
    await deployer.versions.upload(version.id, zip_path)
    for blob in blob_files(settings):
        blob.unlink()
    with pytest.raises(NotFound, match="missing"):
        await deployer.versions.stored_zip(version.id)


async def test_a_refused_zip_leaves_nothing(deployer, settings, version, tmp_path):
    bad = build_app_zip(tmp_path / "bad.zip", binary=FAKE_BINARY, binary_name="server")

    with pytest.raises(ArtifactRejected) as caught:
        await deployer.versions.upload(version.id, bad)

    assert caught.value.code == RejectCode.MISSING_BINARY
    assert blob_files(settings) == []
    assert await deployer.versions.get(version.id) == version


async def test_a_stream_that_breaks_leaves_nothing(deployer, settings, version, zip_path):
    async def broken() -> AsyncIterator[bytes]:
        yield zip_path.read_bytes()[:1000]
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await deployer.versions.upload(version.id, broken())

    assert blob_files(settings) == []


async def test_upload_limit_comes_from_settings(tmp_path, zip_path):
    limit = zip_path.stat().st_size - 1
    async with Deployer.open(Settings(data_dir=tmp_path / "d", max_upload_bytes=limit)) as d:
        server = await d.servers.create(ServerCreate(name="s", host="203.0.113.10"))
        app = await d.apps.create(AppCreate(name="a", server_id=server.id))
        version = await d.versions.create(VersionCreate(app_id=app.id, version_number="1"))
        for source in (zip_path, zip_path.open("rb"), chunks(zip_path.read_bytes())):
            with pytest.raises(PayloadTooLarge):
                await d.versions.upload(version.id, source)
        assert blob_files(d.settings) == []


async def test_a_missing_path_is_invalid_input(deployer, version, tmp_path):
    with pytest.raises(InvalidInput) as caught:
        await deployer.versions.upload(version.id, tmp_path / "nope.zip")
    assert [p.field for p in caught.value.details] == ["source"]


async def test_create_with_zip(deployer, settings, version, zip_path):
    data = VersionCreate(app_id=version.app_id, version_number="2.0.0", notes="n")

    created = await deployer.versions.create_with_zip(data, zip_path)

    assert (created.version_number, created.notes) == ("2.0.0", "n")
    assert created.zip_sha256 == digest(zip_path)
    assert await deployer.versions.get(created.id) == created
    with pytest.raises(Conflict):
        await deployer.versions.create_with_zip(data, zip_path)
    assert len(blob_files(settings)) == 1


async def test_create_with_a_bad_zip_creates_nothing(deployer, settings, version, tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 cut short")
    data = VersionCreate(app_id=version.app_id, version_number="2.0.0")

    with pytest.raises(ArtifactRejected) as caught:
        await deployer.versions.create_with_zip(data, bad)

    assert caught.value.code == RejectCode.TRUNCATED
    assert (await deployer.versions.list()).total == 1
    assert blob_files(settings) == []


async def test_concurrent_uploads_and_deletes_keep_shared_blobs(
    deployer, settings, version, zip_path
):
    """A blob is deleted only when no version references it, however the calls interleave."""
    others = [
        await deployer.versions.create(
            VersionCreate(app_id=version.app_id, version_number=f"2.{i}")
        )
        for i in range(6)
    ]
    await deployer.versions.upload(version.id, zip_path)

    await asyncio.gather(
        deployer.versions.delete(version.id),
        *(deployer.versions.upload(v.id, zip_path) for v in others),
    )

    stored = await deployer.versions.stored_zip(others[0].id)
    assert blob_files(settings) == [stored.path]
    await asyncio.gather(*(deployer.versions.delete(v.id) for v in others))
    assert blob_files(settings) == []


async def test_start_sweeps_uploads_a_crash_left_behind(settings):
    tmp = settings.blobs_dir / "tmp"
    tmp.mkdir(parents=True)
    old, fresh = tmp / "upload-old", tmp / "upload-fresh"
    old.write_bytes(b"half")
    fresh.write_bytes(b"in flight")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))

    async with Deployer.open(settings):
        pass

    assert sorted(tmp.iterdir()) == [fresh]


def _database_at_0001(settings: Settings) -> Path:
    settings.data_dir.mkdir(parents=True)
    path = settings.data_dir / "pbdeployer.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        config = Config()
        location = resources.files("pbdeployer.store") / "migrations"
        config.set_main_option("script_location", str(location))
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    engine.dispose()
    return path


async def test_versions_made_before_0002_read_back_without_a_zip(settings):
    path = _database_at_0001(settings)
    ids = [new_id() for _ in range(3)]
    now = "2026-01-01 12:00:00"
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO servers VALUES (?, ?, ?, 'web1', 'h', 22, 'root', 'pb', 0, NULL, 0, 0)",
            (ids[0], now, now),
        )
        db.execute(
            "INSERT INTO apps VALUES (?, ?, ?, 'blog', ?, '/opt/blog', 'pb-blog', NULL, 8090, "
            "'pocketbase', NULL, 'new')",
            (ids[1], now, now, ids[0]),
        )
        db.execute(
            "INSERT INTO versions VALUES (?, ?, ?, ?, '1.0', NULL, 'old')",
            (ids[2], now, now, ids[1]),
        )

    async with Deployer.open(settings) as deployer:
        version = await deployer.versions.get(ids[2])

    assert (version.notes, version.deployment_zip, version.zip_sha256) == ("old", None, None)
    assert (version.zip_size, version.zip_entry_count, version.uploaded_at) == (None, None, None)
    assert version.zip_migrations == []
