"""Zips over HTTP: request bodies read as streams, and byte ranges of stored files sent back.

Litestar's ``request.form()`` buffers a whole multipart body, so forms are parsed here with
``multipart``'s push parser as the bytes arrive: the file part goes on to the blob store chunk
by chunk, and memory stays flat whatever the upload's size. Like S3's form uploads, the file
must be the form's last part, so every other field is known before the file is read.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from typing import Any, NamedTuple
from urllib.parse import quote

from litestar import Request
from litestar.exceptions import HTTPException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE,
)
from multipart import (  # type: ignore[import-untyped]
    MultipartError,
    MultipartSegment,
    PushMultipartParser,
)

from pbdeployer.errors import InvalidInput, PayloadTooLarge

ZIP_MEDIA_TYPE = "application/zip"
OCTET_STREAM = "application/octet-stream"
RAW_ZIP_TYPES = frozenset({ZIP_MEDIA_TYPE, OCTET_STREAM, "application/x-zip-compressed"})
FORM_MEDIA_TYPE = "multipart/form-data"
FILE_FIELD = "file"
_FORM_OVERHEAD = 1 << 20  # room for the other fields, boundaries and part headers
_MAX_FIELD_BYTES = 64 << 10
_MAX_PARTS = 16
_READ_CHUNK = 1 << 20
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_MAX_POSITION_DIGITS = 19  # 10**19 bytes is past the end of any file


class ZipUpload(NamedTuple):
    """The form's other fields and the zip's bytes (still to be read).

    ``fields`` holds the fields sent before the file at first; the fields after it are added
    once ``chunks`` is exhausted. ``early`` says whether the file part came last.
    """

    fields: dict[str, str]
    chunks: AsyncIterator[bytes]


class ByteRange(NamedTuple):
    """Bytes ``start`` up to, not including, ``stop``."""

    start: int
    stop: int


async def read_upload(
    request: Request[Any, Any, Any], *, max_bytes: int, fields: frozenset[str] = frozenset()
) -> ZipUpload:
    """Read a zip sent raw or as the ``file`` part of a form whose other parts are ``fields``."""
    media_type, options = request.content_type
    if media_type == FORM_MEDIA_TYPE:
        _refuse_announced_size(request, max_bytes + _FORM_OVERHEAD, max_bytes)
        return await _read_form(request, options.get("boundary", ""), fields)
    if fields:
        raise _unsupported(media_type, f"send {FORM_MEDIA_TYPE} with the zip as its 'file' part")
    if media_type and media_type not in RAW_ZIP_TYPES:  # none means bytes (RFC 9110 8.3)
        raise _unsupported(media_type, f"send the zip as {ZIP_MEDIA_TYPE} or {FORM_MEDIA_TYPE}")
    _refuse_announced_size(request, max_bytes, max_bytes)
    return ZipUpload({}, _body(request))


def _refuse_announced_size(request: Request[Any, Any, Any], most: int, limit: int) -> None:
    """Answer 413 before reading anything when Content-Length already says too much."""
    announced = request.content_length
    if announced is not None and announced > most:
        raise PayloadTooLarge(
            f"the upload is {announced} bytes, larger than the {limit}-byte limit; leave pb_data "
            "and other large files out of the zip, or raise the limit"
        )


def _unsupported(media_type: str, hint: str) -> HTTPException:
    return HTTPException(
        status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        detail=f"Content-Type {media_type or '(none)'!r} is not accepted here; {hint}",
    )


async def _body(request: Request[Any, Any, Any]) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk


async def _read_form(
    request: Request[Any, Any, Any], boundary: str, allowed: frozenset[str]
) -> ZipUpload:
    if not boundary:
        raise HTTPException(status_code=HTTP_400_BAD_REQUEST, detail="the form has no boundary")
    events = _events(_body(request), boundary)
    found: dict[str, str] = {}
    async for event in events:
        if isinstance(event, MultipartSegment) and event.name == FILE_FIELD:
            return ZipUpload(found, _file_part(events, allowed, found))
        if isinstance(event, MultipartSegment):
            name = _field_name(event, allowed, found)
            found[name] = await _field_value(events, name)
    raise InvalidInput.single(FILE_FIELD, f"the form has no part named '{FILE_FIELD}'")


def _field_name(segment: Any, allowed: frozenset[str], found: Mapping[str, str]) -> str:
    name = str(segment.name or "")
    if name in found:
        raise InvalidInput.single(name, "given more than once")
    if name not in allowed:
        expected = ", ".join(sorted(allowed)) + " and " if allowed else "only "
        raise InvalidInput.single(name or "form", f"unknown field; send {expected}'file'")
    return name


async def _field_value(events: AsyncIterator[Any], name: str) -> str:
    value = bytearray()
    async for event in events:
        if event is None:
            break
        value += event
        if len(value) > _MAX_FIELD_BYTES:
            raise InvalidInput.single(name, f"longer than {_MAX_FIELD_BYTES} bytes")
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise InvalidInput.single(name, "not valid UTF-8") from None


async def _file_part(
    events: AsyncIterator[Any], allowed: frozenset[str], found: dict[str, str]
) -> AsyncIterator[bytes]:
    """The file part's bytes; the fields after it are read into ``found`` at the end."""
    async for event in events:
        if event is None:
            break
        yield event
    async for event in events:
        if isinstance(event, MultipartSegment) and event.name == FILE_FIELD:
            raise InvalidInput.single(FILE_FIELD, "given more than once")
        if isinstance(event, MultipartSegment):
            name = _field_name(event, allowed, found)
            found[name] = await _field_value(events, name)


async def _events(chunks: AsyncIterator[bytes], boundary: str) -> AsyncIterator[Any]:
    """Parser events: a segment, its body's chunks, then None; a broken form is a 400."""
    try:
        with PushMultipartParser(boundary, max_segment_count=_MAX_PARTS) as parser:
            async for chunk in chunks:
                for event in parser.parse(chunk):
                    yield event
    except MultipartError as exc:
        raise HTTPException(
            status_code=HTTP_400_BAD_REQUEST, detail=f"the multipart form cannot be parsed: {exc}"
        ) from None


def requested_range(headers: Mapping[str, str], size: int, etag: str) -> ByteRange | None:
    """The one range a request asks for, or None for the whole file.

    Headers we do not serve as a range are ignored, as RFC 9110 allows: a malformed ``Range``,
    several ranges, or an ``If-Range`` naming another version of the file.
    """
    header = headers.get("range")
    if not header or headers.get("if-range", etag) != etag:
        return None
    match = _RANGE.fullmatch(header.strip().replace(" ", ""))
    if match is None or match.groups() == ("", ""):
        return None
    first, last = (_position(text) for text in match.groups())
    if first is None:  # a suffix: the last ``last`` bytes
        if not last:
            raise _unsatisfiable(size)
        start, stop = max(size - last, 0), size
    else:
        start = first
        stop = size if last is None else min(last + 1, size)
        if last is not None and last < start:
            return None
    if start >= size:
        raise _unsatisfiable(size)
    return ByteRange(start, stop)


def _position(digits: str) -> int | None:
    """A range bound; one too long for any file (or for ``int``) stands for "past the end"."""
    if not digits:
        return None
    return int(digits) if len(digits) <= _MAX_POSITION_DIGITS else 10**_MAX_POSITION_DIGITS


def _unsatisfiable(size: int) -> HTTPException:
    return HTTPException(
        status_code=HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE,
        detail=f"the requested range is outside the file's {size} bytes",
        headers={"Content-Range": f"bytes */{size}"},
    )


def download_media_type(accept: str) -> str:
    """``application/octet-stream`` when that is all the client accepts, else the zip's type.

    Client generators read an octet-stream as bytes but may not know ``application/zip``.
    """
    accepted = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return OCTET_STREAM if accepted == {OCTET_STREAM} else ZIP_MEDIA_TYPE


def content_disposition(filename: str) -> str:
    """``attachment`` with the name as is when it is plain ASCII, else RFC 5987-encoded."""
    quoted = quote(filename)
    if quoted == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename*=utf-8''{quoted}"
