"""Safety checks for app zips, done by reading the archive: nothing is extracted or run.

The host later unpacks the zip with its own tools, so everything those tools could be tricked
into (writing outside the release dir, creating links or device nodes, filling the disk with a
bomb) is refused here first. Each refusal is an ``ArtifactRejected`` whose ``code`` is a
``RejectCode`` and whose message tells a person what to change.

The binary's mode is not checked: many zip tools drop unix modes, so a regular file named
``binary_name`` at the root is accepted whatever mode it records, and the deploy sets its
executable bit on the host.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from pathlib import Path

import msgspec

from pbdeployer.artifacts._data import check_data
from pbdeployer.artifacts._directory import read_directory
from pbdeployer.artifacts._entries import Entry, check_entries, check_totals
from pbdeployer.artifacts._reject import RejectCode, reject

__all__ = ["ArchiveInfo", "ArchiveLimits", "RejectCode", "inspect_zip"]

_MIB = 1 << 20
_GIB = 1 << 30
_MIGRATIONS_DIR = "pb_migrations"
_MIGRATION_SUFFIXES = (".js", ".ts")  # PocketBase's default migrations file pattern


class ArchiveLimits(msgspec.Struct, frozen=True, kw_only=True):
    """How much an archive may ask a host to unpack.

    The ratio limit applies to each entry, and to the whole archive, larger than
    ``ratio_min_size``: small text files legitimately compress very well.
    """

    max_entries: int = 10_000
    max_uncompressed: int = 4 * _GIB
    max_ratio: float = 200.0
    ratio_min_size: int = _MIB


class ArchiveInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What an accepted archive holds, as the deploy needs to know it."""

    sha256: str
    size: int
    entry_count: int
    uncompressed_size: int
    migrations: tuple[str, ...]
    has_hooks: bool
    has_public: bool


_DEFAULT_LIMITS = ArchiveLimits()


def inspect_zip(
    path: Path | str,
    *,
    limits: ArchiveLimits = _DEFAULT_LIMITS,
    binary_name: str = "pocketbase",
) -> ArchiveInfo:
    """Check an app zip is safe to unpack and runnable; describe it, or raise ArtifactRejected.

    Metadata is checked first so most bad archives are refused without decompressing anything;
    then every entry is decompressed in bounded chunks to prove its size and CRC.
    """
    if not binary_name or "/" in binary_name or binary_name in (".", ".."):
        raise ValueError(f"binary_name must be a plain file name, not {binary_name!r}")
    with Path(path).open("rb") as fp:
        size = fp.seek(0, 2)
        infos = read_directory(fp, size, limits.max_entries)
        entries = check_entries(infos, limits)
        uncompressed = check_totals(infos, size, limits)
        _check_binary(entries, binary_name)
        check_data(fp, entries, size)
        digest = _sha256(fp)
    files = [entry.name for entry in entries if not entry.is_dir]
    return ArchiveInfo(
        sha256=digest,
        size=size,
        entry_count=len(entries),
        uncompressed_size=uncompressed,
        migrations=_migrations(files),
        has_hooks=any(name.startswith("pb_hooks/") for name in files),
        has_public=any(name.startswith("pb_public/") for name in files),
    )


def _check_binary(entries: Sequence[Entry], binary_name: str) -> None:
    for entry in entries:
        if entry.name == binary_name and not entry.is_dir:
            if entry.size == 0:
                raise reject(
                    RejectCode.MISSING_BINARY,
                    f"{binary_name!r} at the root of the zip is empty; add the real binary",
                )
            return
    nested = [e.name for e in entries if e.name.rsplit("/", 1)[-1] == binary_name]
    hint = (
        f"; found {nested[0]!r}: zip the folder's contents rather than the folder itself"
        if nested
        else ""
    )
    raise reject(
        RejectCode.MISSING_BINARY,
        f"no file named {binary_name!r} at the root of the zip{hint}",
    )


def _migrations(files: Sequence[str]) -> tuple[str, ...]:
    """Migration file names directly under pb_migrations/, in the order PocketBase runs them."""
    found = []
    for name in files:
        folder, _, base = name.rpartition("/")
        if folder == _MIGRATIONS_DIR and base.endswith(_MIGRATION_SUFFIXES):
            found.append(base)
    return tuple(sorted(found))


def _sha256(fp: io.BufferedReader) -> str:
    fp.seek(0)
    return hashlib.file_digest(fp, "sha256").hexdigest()
