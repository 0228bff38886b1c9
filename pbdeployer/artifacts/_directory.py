"""Finding and parsing a zip's central directory, with its entry count checked first.

zipfile builds one object per entry while parsing, so a small file declaring millions of
entries could exhaust memory before our own count check ran; the end record's count is read
and bounded before zipfile is asked to parse anything.
"""

from __future__ import annotations

import struct
import zipfile
from typing import BinaryIO

from pbdeployer.artifacts._reject import RejectCode, reject

_LOCAL_MAGIC = b"PK\x03\x04"
_EOCD = struct.Struct("<4s4H2LH")
_EOCD_MAGIC = b"PK\x05\x06"
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_LOCATOR_MAGIC = b"PK\x06\x07"
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_ZIP64_EOCD_MAGIC = b"PK\x06\x06"
_MAX_COMMENT = 0xFFFF
_COUNT_IN_ZIP64 = 0xFFFF


def read_directory(fp: BinaryIO, archive_size: int, max_entries: int) -> list[zipfile.ZipInfo]:
    """Every entry the central directory lists, or a refusal saying why it cannot be read."""
    if archive_size == 0:
        raise reject(RejectCode.NOT_A_ZIP, "the file is empty; upload the app's .zip")
    tail_size = min(archive_size, _EOCD.size + _MAX_COMMENT)
    fp.seek(archive_size - tail_size)
    tail = fp.read(tail_size)
    at = tail.rfind(_EOCD_MAGIC)
    if at < 0 or len(tail) - at < _EOCD.size:
        raise _no_end_record(fp)
    count = _declared_count(fp, tail, at)
    if count > max_entries:
        raise reject(
            RejectCode.TOO_MANY_ENTRIES,
            f"the zip declares {count} entries, above the limit of {max_entries}; "
            "leave node_modules, pb_data and build caches out of the zip",
        )
    try:
        with zipfile.ZipFile(fp) as archive:
            return archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, struct.error) as exc:
        raise reject(
            RejectCode.CORRUPT,
            f"the zip's table of contents is damaged ({exc}); re-create the zip",
        ) from exc


def _no_end_record(fp: BinaryIO) -> Exception:
    fp.seek(0)
    if fp.read(len(_LOCAL_MAGIC)) == _LOCAL_MAGIC:
        return reject(
            RejectCode.TRUNCATED,
            "the zip ends before its table of contents; the upload was probably cut off, "
            "upload it again",
        )
    return reject(
        RejectCode.NOT_A_ZIP,
        "the file is not a zip archive; upload a .zip (tar, gzip and other formats are "
        "not accepted)",
    )


def _declared_count(fp: BinaryIO, tail: bytes, at: int) -> int:
    count: int = _EOCD.unpack_from(tail, at)[4]
    if count != _COUNT_IN_ZIP64 or at < _ZIP64_LOCATOR.size:
        return count
    magic, _, record_offset, _ = _ZIP64_LOCATOR.unpack_from(tail, at - _ZIP64_LOCATOR.size)
    if magic != _ZIP64_LOCATOR_MAGIC:
        return count
    fp.seek(record_offset)
    record = fp.read(_ZIP64_EOCD.size)
    if len(record) < _ZIP64_EOCD.size or record[:4] != _ZIP64_EOCD_MAGIC:
        return count  # zipfile decides whether the zip64 record is usable
    zip64_count: int = _ZIP64_EOCD.unpack(record)[7]
    return zip64_count
