"""A zip writer for tests that sets every header byte itself, so any field can be made to lie.

The bad-zip cases built on it live in ``bad_zips.py``.
"""

from __future__ import annotations

import bz2
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pbdeployer.artifacts import ArchiveLimits, RejectCode

FAKE_BINARY = b"\x7fELF" + bytes(range(256)) * 4  # content is never inspected, only its place
FILE = stat.S_IFREG | 0o644
DIR = stat.S_IFDIR | 0o755
_LOCAL = struct.Struct("<4s5H3I2H")
_CENTRAL = struct.Struct("<4s6H3I5H2I")
_EOCD = struct.Struct("<4s4H2IH")
_ZIP64_EOCD = struct.Struct("<4sQ2H2I4Q")
_ZIP64_LOCATOR = struct.Struct("<4sIQI")
_UTF8 = 0x800


@dataclass(frozen=True)
class RawEntry:
    """One entry; the ``declared_*`` fields, when set, replace what the headers would say."""

    name: str
    content: bytes = b""
    method: int = zipfile.ZIP_STORED
    mode: int = FILE
    flags: int = 0
    payload: bytes | None = None
    declared_size: int | None = None
    declared_compressed_size: int | None = None
    declared_crc: int | None = None
    local_name: str | None = None
    same_bytes_as: str | None = None  # write no data; point at another entry's local header
    utf8: bool = True  # names flagged UTF-8; False writes them in CP437, as old tools do


def binary() -> RawEntry:
    return RawEntry("pocketbase", FAKE_BINARY, mode=stat.S_IFREG | 0o755)


def raw_zip(
    entries: Sequence[RawEntry],
    *,
    declared_count: int | None = None,
    zip64_count: int | None = None,
) -> bytes:
    """The bytes of a zip holding ``entries``, written field by field."""
    body = bytearray()
    central = bytearray()
    offsets: dict[str, int] = {}
    for entry in entries:
        payload = entry.payload if entry.payload is not None else compress(entry)
        crc = zlib.crc32(entry.content) if entry.declared_crc is None else entry.declared_crc
        size = len(entry.content) if entry.declared_size is None else entry.declared_size
        csize = entry.declared_compressed_size
        csize = len(payload) if csize is None else csize
        flags = entry.flags | (_UTF8 if entry.utf8 else 0)
        codec = "utf-8" if entry.utf8 else "cp437"
        fields = (flags, entry.method, 0, 0x21, crc, csize, size)
        if entry.same_bytes_as is not None:
            offset = offsets[entry.same_bytes_as]
        else:
            offset = offsets[entry.name] = len(body)
            local_name = (entry.local_name or entry.name).encode(codec)
            body += _LOCAL.pack(b"PK\x03\x04", 20, *fields, len(local_name), 0)
            body += local_name + payload
        name = entry.name.encode(codec)
        central += _CENTRAL.pack(
            b"PK\x01\x02",
            (3 << 8) | 20,
            20,
            *fields,
            len(name),
            0,
            0,
            0,
            0,
            entry.mode << 16,
            offset,
        )
        central += name
    count = len(entries) if declared_count is None else declared_count
    tail = b""
    if zip64_count is not None:
        record_at = len(body) + len(central)
        tail = _ZIP64_EOCD.pack(
            b"PK\x06\x06", 44, 45, 45, 0, 0, zip64_count, zip64_count, len(central), len(body)
        )
        tail += _ZIP64_LOCATOR.pack(b"PK\x06\x07", 0, record_at, 1)
        count = 0xFFFF
    end = _EOCD.pack(b"PK\x05\x06", 0, 0, count, count, len(central), len(body), 0)
    return bytes(body + central + tail + end)


def compress(entry: RawEntry) -> bytes:
    if entry.method == zipfile.ZIP_DEFLATED:
        packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        return packer.compress(entry.content) + packer.flush()
    if entry.method == zipfile.ZIP_BZIP2:
        return bz2.compress(entry.content)
    return entry.content


def app(*extra: RawEntry) -> list[RawEntry]:
    """A valid app (binary plus one migration) with ``extra`` entries appended."""
    migration = RawEntry("pb_migrations/1700000000_init.js", b"migrate((app) => {});\n")
    return [binary(), migration, *extra]


@dataclass(frozen=True)
class BadZip:
    """One case: how to build it, the code it must be refused with, a phrase the message has."""

    id: str
    code: RejectCode
    says: str
    build: Callable[[], bytes]
    limits: ArchiveLimits = field(default_factory=ArchiveLimits)

    def write(self, directory: Path) -> Path:
        path = directory / f"{self.id}.zip"
        path.write_bytes(self.build())
        return path
