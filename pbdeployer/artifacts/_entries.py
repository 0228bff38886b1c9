"""Checks on what the central directory says about each entry, before any byte is unpacked.

Names are judged the way the most permissive extractor would read them: a backslash counts as a
separator, because some unzip tools treat it as one, so ``a\\..\\..\\x`` is as dangerous as
``a/../../x``.
"""

from __future__ import annotations

import re
import stat
import zipfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from pbdeployer.artifacts._reject import RejectCode, human_size, reject

if TYPE_CHECKING:
    from pbdeployer.artifacts.archive import ArchiveLimits

_SUPPORTED_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2})
_METHOD_LABELS = {9: "Deflate64", 14: "LZMA", 93: "Zstandard", 95: "XZ", 98: "PPMd"}
_FLAG_ENCRYPTED = 0x1
_FLAG_STRONG_ENCRYPTION = 0x40
_METHOD_AES = 99
_NAME_MAX = 255  # bytes in one path component on Linux filesystems
_PATH_MAX = 4096
_SEPARATORS = re.compile(r"[\\/]")
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SPECIAL_KINDS = {
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFIFO: "named pipe",
    stat.S_IFSOCK: "socket",
}


class Entry(NamedTuple):
    """One checked entry: its normalized ``/``-separated path and what it is."""

    name: str
    is_dir: bool
    size: int
    info: zipfile.ZipInfo


def check_entries(infos: Sequence[zipfile.ZipInfo], limits: ArchiveLimits) -> list[Entry]:
    """Refuse the archive if any entry is unsafe on its own or clashes with another.

    The entry limit is not checked again here: ``read_directory`` stops parsing at it.
    """
    entries = [_check_entry(info, limits) for info in infos]
    _check_unique(entries)
    return entries


def check_totals(infos: Sequence[zipfile.ZipInfo], archive_size: int, limits: ArchiveLimits) -> int:
    """Refuse archives that unpack too large, or that grow suspiciously much overall."""
    total = sum(info.file_size for info in infos)
    if total > limits.max_uncompressed:
        raise reject(
            RejectCode.TOO_LARGE_UNCOMPRESSED,
            f"the zip unpacks to {human_size(total)}, above the "
            f"{human_size(limits.max_uncompressed)} limit; leave pb_data and other large files "
            "out of the zip",
        )
    if total > limits.ratio_min_size and total > limits.max_ratio * max(archive_size, 1):
        raise reject(
            RejectCode.ZIP_BOMB,
            f"the zip expands {total / max(archive_size, 1):.0f}-fold ({human_size(archive_size)}"
            f" to {human_size(total)}), beyond the {limits.max_ratio:.0f}-fold limit; "
            "real apps do not compress this well, so it is refused as a zip bomb",
        )
    return total


def _check_entry(info: zipfile.ZipInfo, limits: ArchiveLimits) -> Entry:
    # Some readers use the raw name, others a Unicode-path extra field; both must be safe.
    if info.orig_filename != info.filename:
        normalize_name(info.orig_filename)
    name = normalize_name(info.filename)
    _check_method(info, name)
    is_dir = _check_kind(info, name)
    _check_ratio(info, name, limits)
    return Entry(name=name, is_dir=is_dir, size=info.file_size, info=info)


def normalize_name(raw: str) -> str:
    """The entry's path relative to the app directory, or a refusal saying what is wrong."""
    if _CONTROL.search(raw):
        raise reject(
            RejectCode.INVALID_NAME,
            f"entry {raw!r} has control characters in its name; rename it",
        )
    if raw.startswith(("/", "\\")) or _DRIVE.match(raw):
        raise reject(
            RejectCode.ABSOLUTE_PATH,
            f"entry {raw!r} has an absolute path; store paths relative to the app directory",
        )
    parts = [part for part in _SEPARATORS.split(raw) if part not in ("", ".")]
    if ".." in parts:
        raise reject(
            RejectCode.PATH_TRAVERSAL,
            f"entry {raw!r} escapes the app directory; remove '..' from its path",
        )
    if not parts:
        raise reject(RejectCode.INVALID_NAME, f"entry {raw!r} has no file name")
    if len(raw.encode()) > _PATH_MAX or any(len(p.encode()) > _NAME_MAX for p in parts):
        raise reject(
            RejectCode.INVALID_NAME,
            f"entry {raw[:80]!r}... has a name too long for Linux; shorten it",
        )
    return "/".join(parts)


def _check_method(info: zipfile.ZipInfo, name: str) -> None:
    encrypted = info.flag_bits & (_FLAG_ENCRYPTED | _FLAG_STRONG_ENCRYPTION)
    if encrypted or info.compress_type == _METHOD_AES:
        raise reject(
            RejectCode.ENCRYPTED,
            f"entry {name!r} is encrypted; upload a zip made without a password",
        )
    if info.compress_type not in _SUPPORTED_METHODS:
        label = _METHOD_LABELS.get(info.compress_type, f"method {info.compress_type}")
        raise reject(
            RejectCode.UNSUPPORTED_COMPRESSION,
            f"entry {name!r} uses {label} compression, which hosts cannot unpack; "
            "re-create the zip with deflate, the default of zip and most tools",
        )


def _check_kind(info: zipfile.ZipInfo, name: str) -> bool:
    """Whether the entry is a directory; links and special files are refused."""
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        raise reject(
            RejectCode.SYMLINK,
            f"entry {name!r} is a symbolic link, which could point outside the app directory; "
            "put the file itself in the zip",
        )
    if kind in _SPECIAL_KINDS:
        raise reject(
            RejectCode.SPECIAL_FILE,
            f"entry {name!r} is a {_SPECIAL_KINDS[kind]}, not a regular file; remove it",
        )
    return kind == stat.S_IFDIR or info.filename.endswith(("/", "\\"))


def _check_ratio(info: zipfile.ZipInfo, name: str, limits: ArchiveLimits) -> None:
    if info.file_size <= limits.ratio_min_size:
        return
    ratio = info.file_size / max(info.compress_size, 1)
    if ratio > limits.max_ratio:
        raise reject(
            RejectCode.ZIP_BOMB,
            f"entry {name!r} expands {ratio:.0f}-fold ({human_size(info.compress_size)} to "
            f"{human_size(info.file_size)}), beyond the {limits.max_ratio:.0f}-fold limit; "
            "real files do not compress this well, so it is refused as a zip bomb",
        )


def _check_unique(entries: Sequence[Entry]) -> None:
    """One path, one entry: otherwise unpacking silently lets one replace the other."""
    is_dir_by_name: dict[str, bool] = {}
    for entry in entries:
        if entry.name in is_dir_by_name:
            raise reject(
                RejectCode.DUPLICATE_ENTRY,
                f"entry {entry.name!r} appears more than once; keep one copy",
            )
        is_dir_by_name[entry.name] = entry.is_dir
    for entry in entries:
        parent = entry.name
        while "/" in parent:
            parent = parent.rsplit("/", 1)[0]
            if is_dir_by_name.get(parent) is False:
                raise reject(
                    RejectCode.DUPLICATE_ENTRY,
                    f"{parent!r} is both a file and the folder of entry {entry.name!r}; "
                    "rename one of them",
                )
