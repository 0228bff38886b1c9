"""/versions: labelled builds of an app, and their zips (uploaded and downloaded as streams)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.datastructures import ETag
from litestar.params import Body
from litestar.response import File, Stream
from litestar.status_codes import HTTP_200_OK, HTTP_206_PARTIAL_CONTENT

from pbdeployer.api import docs
from pbdeployer.api.controllers.params import (
    DEFAULT_PER_PAGE,
    Cursor,
    DeployerDep,
    Id,
    ListOrder,
    OptionalId,
    Order,
    PageNumber,
    PerPage,
    page_request,
)
from pbdeployer.api.transfers import (
    ZIP_MEDIA_TYPE,
    ByteRange,
    content_disposition,
    download_media_type,
    read_upload,
    requested_range,
)
from pbdeployer.errors import FieldProblem, InvalidInput
from pbdeployer.models import Page, StoredZip, Version, VersionCreate, VersionFilter

_FORM_FIELDS = frozenset({"app_id", "version_number", "notes"})
_REQUIRED_FORM_FIELDS = ("app_id", "version_number")


class VersionController(Controller):
    path = "/versions"
    tags: list[str] | None = ["versions"]

    @get(
        "/",
        operation_id="listVersions",
        summary="List versions",
        description="A page of versions, oldest first; filter by app.",
        responses={200: docs.success(Page[Version], "A page", docs.page_of(docs.VERSION))}
        | docs.responses(422),
    )
    async def list_versions(
        self,
        deployer: DeployerDep,
        app_id: OptionalId = None,
        page: PageNumber = 1,
        per_page: PerPage = DEFAULT_PER_PAGE,
        order: Order = ListOrder.OLDEST,
        cursor: Cursor = None,
    ) -> Page[Version]:
        return await deployer.versions.list(
            VersionFilter(app_id=app_id), page_request(page, per_page, order, cursor)
        )

    @post(
        "/",
        operation_id="createVersion",
        summary="Create a version of an app",
        description="The zip follows with `POST /versions/{version_id}/upload`; "
        "`POST /versions/with-zip` does both in one request.",
        responses={201: docs.success(Version, "Created", docs.VERSION, "Created")}
        | docs.responses(400, 409, 422),
    )
    async def create_version(
        self,
        deployer: DeployerDep,
        data: Annotated[
            VersionCreate, Body(examples=docs.example("A version", docs.VERSION_CREATE))
        ],
    ) -> Version:
        return await deployer.versions.create(data)

    @post(
        "/with-zip",
        operation_id="createVersionWithZip",
        summary="Create a version and upload its zip in one form",
        description="A `multipart/form-data` form: `app_id`, `version_number`, `notes` and the "
        "zip as `file`, in any order (fields sent before the file are checked before it is "
        "read). The zip is checked as by the upload; when anything is refused, neither the "
        "version nor the zip is kept.",
        request_max_body_size=None,  # streamed; the upload limit is enforced while reading
        operation_class=docs.VersionFormOperation,
        responses={201: docs.success(Version, "Created", docs.VERSION_WITH_ZIP, "Created")}
        | docs.responses(404, 409, 413, 415, 422, 507, zip_checks=True),
    )
    async def create_version_with_zip(
        self, deployer: DeployerDep, request: Request[Any, Any, Any]
    ) -> Version:
        upload = await read_upload(
            request, max_bytes=deployer.settings.max_upload_bytes, fields=_FORM_FIELDS
        )
        return await deployer.versions.create_with_zip(_VersionForm(upload.fields), upload.chunks)

    @get(
        "/{version_id:str}",
        operation_id="getVersion",
        summary="Get a version",
        description="One version, with its zip's sha256, size, entry count and migrations once "
        "uploaded.",
        responses={200: docs.success(Version, "A version", docs.VERSION_WITH_ZIP)}
        | docs.responses(404),
    )
    async def get_version(self, deployer: DeployerDep, version_id: Id) -> Version:
        return await deployer.versions.get(version_id)

    @post(
        "/{version_id:str}/upload",
        operation_id="uploadVersionZip",
        summary="Upload (or replace) a version's zip",
        description="The zip as the raw body (`application/zip` or `application/octet-stream`) "
        "or as the `file` part of a `multipart/form-data` form. It is streamed to disk, checked "
        "without running anything (paths, links, sizes, zip bombs, the app's binary at the "
        "root) and stored once per content. 413 past the upload limit; 409 once a deployment "
        "used the version.",
        status_code=HTTP_200_OK,
        request_max_body_size=None,  # streamed; the upload limit is enforced while reading
        operation_class=docs.ZipUploadOperation,
        responses={200: docs.success(Version, "Uploaded", docs.VERSION_WITH_ZIP)}
        | docs.responses(404, 409, 413, 415, 422, 507, zip_checks=True),
    )
    async def upload_zip(
        self, deployer: DeployerDep, version_id: Id, request: Request[Any, Any, Any]
    ) -> Version:
        upload = await read_upload(request, max_bytes=deployer.settings.max_upload_bytes)
        return await deployer.versions.upload(version_id, upload.chunks)

    @get(
        "/{version_id:str}/download",
        operation_id="downloadVersionZip",
        summary="Download a version's zip",
        description="Streamed from disk with `Content-Length` and `ETag` (the sha256). A single "
        "`Range` (`bytes=start-end`, `bytes=start-`, `bytes=-suffix`) answers 206; several "
        "ranges, or an `If-Range` that does not match the ETag, get the whole file. The body "
        "is `application/zip`, or `application/octet-stream` when `Accept` names only that.",
        media_type=ZIP_MEDIA_TYPE,
        operation_class=docs.ZipDownloadOperation,
        responses=docs.responses(404, 416),
    )
    async def download_zip(
        self, deployer: DeployerDep, version_id: Id, request: Request[Any, Any, Any]
    ) -> File | Stream:
        stored = await deployer.versions.stored_zip(version_id)
        wanted = requested_range(request.headers, stored.size, _etag(stored).to_header())
        media_type = download_media_type(request.headers.get("accept", ""))
        if wanted is None:
            return _whole_zip(stored, media_type)
        chunks = deployer.versions.read_zip(stored, wanted.start, wanted.stop)
        return _zip_range(stored, wanted, chunks, media_type)

    @delete(
        "/{version_id:str}",
        operation_id="deleteVersion",
        summary="Delete a version (refused while it is live or being deployed)",
        description="409 while it is its app's current version or a queued or running "
        "deployment uses it. Its zip is deleted unless another version has the same content.",
        responses=docs.responses(404, 409),
    )
    async def delete_version(self, deployer: DeployerDep, version_id: Id) -> None:
        await deployer.versions.delete(version_id)


class _VersionForm:
    """The with-zip form's fields; those after the file part arrive while the zip is read."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self._fields = fields

    def so_far(self) -> VersionCreate | None:
        if any(name not in self._fields for name in _REQUIRED_FORM_FIELDS):
            return None
        return self.complete()

    def complete(self) -> VersionCreate:
        missing = [name for name in _REQUIRED_FORM_FIELDS if name not in self._fields]
        if missing:
            raise InvalidInput([FieldProblem(field=name, reason="required") for name in missing])
        return VersionCreate(
            app_id=self._fields["app_id"],
            version_number=self._fields["version_number"],
            notes=self._fields.get("notes", ""),
        )


def _etag(stored: StoredZip) -> ETag:
    return ETag(value=stored.sha256)


def _common_headers(stored: StoredZip) -> dict[str, str]:
    return {"Accept-Ranges": "bytes", "Content-Disposition": content_disposition(stored.filename)}


def _whole_zip(stored: StoredZip, media_type: str) -> File:
    return File(
        stored.path,
        filename=stored.filename,
        media_type=media_type,
        etag=_etag(stored),
        headers=_common_headers(stored),
    )


class _TypedStream(Stream):
    """A stream whose own media type wins over the handler's (``Stream`` lets the handler's win)."""

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> Any:
        return super().to_asgi_response(*args, **(kwargs | {"media_type": self.media_type}))


def _zip_range(
    stored: StoredZip, wanted: ByteRange, chunks: AsyncIterator[bytes], media_type: str
) -> Stream:
    return _TypedStream(
        chunks,
        status_code=HTTP_206_PARTIAL_CONTENT,
        media_type=media_type,
        headers=_common_headers(stored)
        | {
            "Content-Length": str(wanted.stop - wanted.start),
            "Content-Range": f"bytes {wanted.start}-{wanted.stop - 1}/{stored.size}",
            "ETag": _etag(stored).to_header(),
        },
    )
