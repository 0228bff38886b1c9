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
    read_upload,
    requested_range,
)
from pbdeployer.errors import FieldProblem, InvalidInput
from pbdeployer.models import Page, StoredZip, Version, VersionCreate, VersionFilter

_FORM_FIELDS = frozenset({"app_id", "version_number", "notes"})
_REQUIRED_FORM_FIELDS = ("app_id", "version_number")


class VersionController(Controller):
    path = "/versions"
    tags = ["versions"]

    @get(
        "/",
        operation_id="listVersions",
        summary="List versions",
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
        description="A `multipart/form-data` form: `app_id`, `version_number` and `notes`, then "
        "the zip as the last part, `file`. The zip is checked as by the upload; when anything "
        "is refused, neither the version nor the zip is kept.",
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
        data = _version_form(upload.fields)
        return await deployer.versions.create_with_zip(data, upload.chunks)

    @get(
        "/{version_id:str}",
        operation_id="getVersion",
        summary="Get a version",
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
        "ranges, or an `If-Range` that does not match the ETag, get the whole file.",
        media_type=ZIP_MEDIA_TYPE,
        operation_class=docs.ZipDownloadOperation,
        responses=docs.responses(404, 416),
    )
    async def download_zip(
        self, deployer: DeployerDep, version_id: Id, request: Request[Any, Any, Any]
    ) -> File | Stream:
        stored = await deployer.versions.stored_zip(version_id)
        wanted = requested_range(request.headers, stored.size, _etag(stored).to_header())
        if wanted is None:
            return _whole_zip(stored)
        chunks = deployer.versions.read_zip(stored, wanted.start, wanted.stop)
        return _zip_range(stored, wanted, chunks)

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


def _version_form(fields: Mapping[str, str]) -> VersionCreate:
    missing = [name for name in _REQUIRED_FORM_FIELDS if name not in fields]
    if missing:
        raise InvalidInput(
            [FieldProblem(field=name, reason="required, before the file part") for name in missing]
        )
    return VersionCreate(
        app_id=fields["app_id"],
        version_number=fields["version_number"],
        notes=fields.get("notes", ""),
    )


def _etag(stored: StoredZip) -> ETag:
    return ETag(value=stored.sha256)


def _common_headers(stored: StoredZip) -> dict[str, str]:
    return {"Accept-Ranges": "bytes", "Content-Disposition": content_disposition(stored.filename)}


def _whole_zip(stored: StoredZip) -> File:
    return File(
        stored.path,
        filename=stored.filename,
        media_type=ZIP_MEDIA_TYPE,
        etag=_etag(stored),
        headers=_common_headers(stored),
    )


def _zip_range(stored: StoredZip, wanted: ByteRange, chunks: AsyncIterator[bytes]) -> Stream:
    return Stream(
        chunks,
        status_code=HTTP_206_PARTIAL_CONTENT,
        media_type=ZIP_MEDIA_TYPE,
        headers=_common_headers(stored)
        | {
            "Content-Length": str(wanted.stop - wanted.start),
            "Content-Range": f"bytes {wanted.start}-{wanted.stop - 1}/{stored.size}",
            "ETag": _etag(stored).to_header(),
        },
    )
