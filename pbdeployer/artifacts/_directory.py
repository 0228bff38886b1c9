"""Finding and parsing a zip's central directory, with the entry limit held on what is parsed.

The end record's entry count is only a claim: zipfile parses every header the directory holds
whatever the count says, so a small upload could make it build millions of objects. Entries are
read here one header at a time and parsing stops at the first one past the limit, so memory and
time stay bounded whatever the archive claims. Every read stays inside the file: a directory
that points before the file's start (a zip whose first bytes were cut off) is refused.
"""

from __future__ import annotations

import struct
import zipfile
from typing import BinaryIO, NamedTuple

from pbdeployer.artifacts._reject import RejectCode, reject, too_many_entries

_LOCAL_MAGIC = b"PK\x03\x04"
_EOCD = struct.Struct("<4s4H2LH")
_EOCD_MAGIC = b"PK\x05\x06"
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_LOCATOR_MAGIC = b"PK\x06\x07"
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_ZIP64_EOCD_MAGIC = b"PK\x06\x06"
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_CENTRAL_MAGIC = b"PK\x01\x02"
_ZIP64_EXTRA = 0x0001
_FLAG_UTF8 = 0x800
_MAX_COMMENT = 0xFFFF
_COUNT_IN_ZIP64 = 0xFFFF
_SIZE_IN_ZIP64 = 0xFFFF_FFFF


class _EndRecord(NamedTuple):
    """What the end of the file says about the directory; ``start`` is where it really is."""

    entries: int
    start: int
    size: int
    shift: int  # bytes of foreign data before the zip (self-extractors): offsets move by it


def read_directory(fp: BinaryIO, archive_size: int, max_entries: int) -> list[zipfile.ZipInfo]:
    """Every entry the central directory lists, or a refusal saying why it cannot be read."""
    if archive_size == 0:
        raise reject(RejectCode.NOT_A_ZIP, "the file is empty; upload the app's .zip")
    end = _end_record(fp, archive_size)
    if end.entries > max_entries:
        raise too_many_entries(f"declares {end.entries}", max_entries)
    infos = _parse_directory(fp, end, max_entries)
    if len(infos) != end.entries:
        raise _damaged(f"it lists {len(infos)} entries but its end record says {end.entries}")
    return infos


def _damaged(reason: str) -> Exception:
    return reject(
        RejectCode.CORRUPT,
        f"the zip's table of contents is damaged ({reason}); re-create the zip",
    )


def _end_record(fp: BinaryIO, archive_size: int) -> _EndRecord:
    tail_size = min(archive_size, _EOCD.size + _MAX_COMMENT)
    tail_start = archive_size - tail_size
    fp.seek(tail_start)
    tail = fp.read(tail_size)
    at = tail.rfind(_EOCD_MAGIC)
    if at < 0 or len(tail) - at < _EOCD.size:
        raise _no_end_record(fp)
    _, _, _, _, count, size, offset, _ = _EOCD.unpack_from(tail, at)
    location = tail_start + at
    zip64 = _zip64_record(fp, location) if count == _COUNT_IN_ZIP64 else None
    if zip64 is not None:
        location -= _ZIP64_LOCATOR.size + _ZIP64_EOCD.size
        count, size, offset = zip64
    shift = location - size - offset
    if shift < 0:
        raise reject(
            RejectCode.TRUNCATED,
            "the zip's beginning is missing (its table of contents points before the start of "
            "the file); the file was probably cut or damaged, upload the original zip",
        )
    return _EndRecord(entries=count, start=offset + shift, size=size, shift=shift)


def _zip64_record(fp: BinaryIO, eocd_at: int) -> tuple[int, int, int] | None:
    """Count, size and offset from a zip64 end record placed just before the end record."""
    record_at = eocd_at - _ZIP64_LOCATOR.size - _ZIP64_EOCD.size
    if record_at < 0:
        return None
    fp.seek(record_at)
    raw = fp.read(_ZIP64_EOCD.size + _ZIP64_LOCATOR.size)
    if raw[_ZIP64_EOCD.size : _ZIP64_EOCD.size + 4] != _ZIP64_LOCATOR_MAGIC:
        return None
    if raw[:4] != _ZIP64_EOCD_MAGIC:
        return None
    fields = _ZIP64_EOCD.unpack_from(raw)
    return fields[7], fields[8], fields[9]


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


def _parse_directory(fp: BinaryIO, end: _EndRecord, max_entries: int) -> list[zipfile.ZipInfo]:
    """Headers one by one from the directory's bytes, stopping once past ``max_entries``."""
    fp.seek(end.start)
    left = end.size
    infos: list[zipfile.ZipInfo] = []
    while left > 0:
        if len(infos) == max_entries:
            raise too_many_entries(f"holds at least {max_entries + 1}", max_entries)
        header = _take(fp, _CENTRAL.size, left)
        fields = _CENTRAL.unpack(header)
        if fields[0] != _CENTRAL_MAGIC:
            raise _damaged("an entry does not start with its signature")
        name_len, extra_len, comment_len = fields[12:15]
        variable = _take(fp, name_len + extra_len + comment_len, left - _CENTRAL.size)
        left -= _CENTRAL.size + len(variable)
        infos.append(_info(fields, variable, end.shift))
    return infos


def _take(fp: BinaryIO, n: int, left: int) -> bytes:
    if n > left:
        raise _damaged("an entry runs past its end")
    data = fp.read(n)
    if len(data) < n:
        raise _damaged("an entry runs past the end of the file")
    return data


def _info(fields: tuple[int, ...], variable: bytes, shift: int) -> zipfile.ZipInfo:
    """The entry as zipfile would describe it, with zip64 sizes and offsets applied.

    Only what the checks read is filled in: dates, versions and the like are left at
    zipfile's defaults.
    """
    name_len, extra_len = fields[12], fields[13]
    raw_name = variable[:name_len]
    flags = fields[5]
    try:
        name = raw_name.decode("utf-8") if flags & _FLAG_UTF8 else raw_name.decode("cp437")
    except UnicodeDecodeError as exc:
        raise _damaged(f"an entry name is not valid UTF-8: {exc.reason}") from exc
    info = zipfile.ZipInfo(name)
    info.extra = variable[name_len : name_len + extra_len]
    info.flag_bits, info.compress_type = flags, fields[6]
    info.CRC, info.compress_size, info.file_size = fields[9], fields[10], fields[11]
    info.external_attr = fields[17]
    info.header_offset = fields[18]
    _apply_zip64(info)
    info.header_offset += shift
    return info


def _apply_zip64(info: zipfile.ZipInfo) -> None:
    """Replace the 32-bit fields marked as overflowed with their zip64 extra-field values."""
    extra = info.extra
    while len(extra) >= 4:
        kind, length = struct.unpack_from("<HH", extra)
        if 4 + length > len(extra):
            raise _damaged("an entry's extra field runs past its end")
        if kind == _ZIP64_EXTRA:
            values = extra[4 : 4 + length]
            for field in ("file_size", "compress_size", "header_offset"):
                if getattr(info, field) != _SIZE_IN_ZIP64:
                    continue
                if len(values) < 8:
                    raise _damaged(f"an entry's zip64 field lacks its {field}")
                setattr(info, field, int.from_bytes(values[:8], "little"))
                values = values[8:]
        extra = extra[4 + length :]
