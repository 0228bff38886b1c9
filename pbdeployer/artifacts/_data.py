"""Reads every entry's bytes straight from the archive to prove its headers tell the truth.

The decompressors here are our own rather than ``ZipFile.open``, because zipfile stops at the
size a header declares: a bomb that understates its size would pass it yet flood the disk of
an ``unzip`` on the host. Output is counted chunk by chunk and the entry is refused the moment
it passes its declared size, so memory stays flat whatever the archive claims.
"""

from __future__ import annotations

import bz2
import itertools
import struct
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from typing import BinaryIO, NamedTuple, Protocol

from pbdeployer.artifacts._entries import Entry
from pbdeployer.artifacts._reject import RejectCode, human_size, reject

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_MAGIC = b"PK\x03\x04"
_FLAG_ENCRYPTED = 0x1
_FLAG_UTF8 = 0x800
_CHUNK = 1 << 20


class _Span(NamedTuple):
    """Where one entry lives in the file: its local header, then its compressed data."""

    entry: Entry
    local_name: str
    local_flags: int
    header_offset: int
    data_start: int
    data_end: int


class _Decoder(Protocol):
    def feed(self, raw: bytes) -> Iterator[bytes]: ...

    def finish(self) -> bytes: ...


def check_data(fp: BinaryIO, entries: Sequence[Entry], archive_size: int) -> None:
    """Refuse entries whose bytes overlap, run short or long, or fail their CRC."""
    spans = [_locate(fp, entry, archive_size) for entry in entries]
    _check_overlap(spans)
    for span in spans:
        _verify(fp, span)


def _locate(fp: BinaryIO, entry: Entry, archive_size: int) -> _Span:
    info = entry.info
    if info.header_offset + _LOCAL_HEADER.size > archive_size:
        raise _cut_off(entry.name)
    fp.seek(info.header_offset)
    header = fp.read(_LOCAL_HEADER.size)
    magic, _, flags, *_, name_len, extra_len = _LOCAL_HEADER.unpack(header)
    if magic != _LOCAL_MAGIC:
        raise reject(
            RejectCode.CORRUPT,
            f"entry {entry.name!r} points at damaged data (no local header); re-create the zip",
        )
    local_name = fp.read(name_len).decode("utf-8" if flags & _FLAG_UTF8 else "cp437", "replace")
    start = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len
    end = start + info.compress_size
    if end > archive_size:
        raise _cut_off(entry.name)
    return _Span(
        entry=entry,
        local_name=local_name,
        local_flags=flags,
        header_offset=info.header_offset,
        data_start=start,
        data_end=end,
    )


def _cut_off(name: str) -> Exception:
    return reject(
        RejectCode.TRUNCATED,
        f"entry {name!r} runs past the end of the file; the upload was probably cut off, "
        "upload it again",
    )


def _check_overlap(spans: Sequence[_Span]) -> None:
    ordered = sorted(spans, key=lambda span: span.header_offset)
    for before, after in itertools.pairwise(ordered):
        if after.header_offset < before.data_end:
            raise reject(
                RejectCode.ZIP_BOMB,
                f"entries {before.entry.name!r} and {after.entry.name!r} share the same bytes; "
                "overlapping entries are how zip bombs multiply their size",
            )


def _check_local_header(span: _Span) -> None:
    """Readers that stream from local headers must see what the central directory says."""
    if span.local_name != span.entry.info.orig_filename:
        raise reject(
            RejectCode.CORRUPT,
            f"entry {span.entry.name!r} is named {span.local_name!r} in its local header; tools "
            "disagree on which name wins, so re-create the zip",
        )
    if span.local_flags & _FLAG_ENCRYPTED:
        raise reject(
            RejectCode.ENCRYPTED,
            f"entry {span.entry.name!r} is encrypted; upload a zip made without a password",
        )


def _verify(fp: BinaryIO, span: _Span) -> None:
    """Decompress one entry in bounded chunks, counting its real size and CRC."""
    _check_local_header(span)
    info = span.entry.info
    decoder = _decoder(info.compress_type)
    produced = 0
    crc = 0
    for out in _decoded(decoder, _raw_chunks(fp, span), span.entry.name):
        produced += len(out)
        if produced > info.file_size:
            raise reject(
                RejectCode.ZIP_BOMB,
                f"entry {span.entry.name!r} unpacks to more than the "
                f"{human_size(info.file_size)} its header declares; it is refused as a zip bomb",
            )
        crc = zlib.crc32(out, crc)
    if produced < info.file_size:
        raise reject(
            RejectCode.CORRUPT,
            f"entry {span.entry.name!r} unpacks to {human_size(produced)}, less than the "
            f"{human_size(info.file_size)} its header declares; re-create the zip",
        )
    if crc != info.CRC:
        raise reject(
            RejectCode.CRC_MISMATCH,
            f"entry {span.entry.name!r} fails its CRC check, so its content is damaged; "
            "upload the zip again or re-create it",
        )


class _DamagedDataError(Exception):
    """A decompressor refused its input; carries the library's reason."""


def _decoded(decoder: _Decoder, raw_chunks: Iterator[bytes], name: str) -> Iterator[bytes]:
    try:
        for raw in raw_chunks:
            yield from decoder.feed(raw)
        yield decoder.finish()
    except _DamagedDataError as exc:
        raise reject(
            RejectCode.CORRUPT,
            f"entry {name!r} holds damaged compressed data ({exc}); re-create the zip",
        ) from exc


def _raw_chunks(fp: BinaryIO, span: _Span) -> Iterator[bytes]:
    fp.seek(span.data_start)
    left = span.data_end - span.data_start
    while left > 0:
        chunk = fp.read(min(left, _CHUNK))
        if not chunk:
            raise _cut_off(span.entry.name)
        left -= len(chunk)
        yield chunk


def _decoder(method: int) -> _Decoder:
    if method == zipfile.ZIP_DEFLATED:
        return _Inflate()
    if method == zipfile.ZIP_BZIP2:
        return _Bunzip()
    return _Stored()


class _Stored:
    def feed(self, raw: bytes) -> Iterator[bytes]:
        yield raw

    def finish(self) -> bytes:
        return b""


class _Inflate:
    def __init__(self) -> None:
        self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)

    def feed(self, raw: bytes) -> Iterator[bytes]:
        data = raw
        while data and not self._zlib.eof:
            try:
                out = self._zlib.decompress(data, _CHUNK)
            except zlib.error as exc:
                raise _DamagedDataError(str(exc)) from exc
            yield out
            data = self._zlib.unconsumed_tail

    def finish(self) -> bytes:
        # Without new input zlib can only release the tail of one back-reference.
        try:
            return b"" if self._zlib.eof else self._zlib.flush()
        except zlib.error as exc:
            raise _DamagedDataError(str(exc)) from exc


class _Bunzip:
    def __init__(self) -> None:
        self._bz2 = bz2.BZ2Decompressor()

    def feed(self, raw: bytes) -> Iterator[bytes]:
        data = raw
        while not self._bz2.eof and (data or not self._bz2.needs_input):
            try:
                out = self._bz2.decompress(data, _CHUNK)
            except (OSError, EOFError) as exc:  # bz2 reports bad streams as OSError
                raise _DamagedDataError(str(exc)) from exc
            yield out
            data = b""

    def finish(self) -> bytes:
        return b""
