"""OpenAPI helpers: example bodies and the error answers each operation can give."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Example,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
)
from litestar.openapi.spec import Schema as OpenAPISchema

from pbdeployer.api.schemas import ErrorBody

_STAMP = "2026-01-01T12:00:00Z"
SERVER_ID = "01JH8Z6X4T3D3Q9V4W0Y5K7B2M"
APP_ID = "01JH8Z7C2V5M8N1P3Q4R6S7T8U"
VERSION_ID = "01JH8Z8D9E0F1G2H3J4K5M6N7P"

SERVER_CREATE = {"name": "web1", "host": "203.0.113.10", "port": 22, "app_username": "pocketbase"}
SERVER_UPDATE = {"port": 2222}
SERVER = {
    "id": SERVER_ID,
    "created": _STAMP,
    "updated": _STAMP,
    "name": "web1",
    "host": "203.0.113.10",
    "port": 22,
    "root_username": "root",
    "app_username": "pocketbase",
    "use_ssh_agent": False,
    "manual_key_path": "/home/me/.ssh/id_ed25519",
    "setup_complete": False,
    "security_locked": False,
}
APP_CREATE = {"name": "blog", "server_id": SERVER_ID, "domain": "blog.example.com"}
APP_UPDATE = {"domain": "www.blog.example.com"}
APP = {
    "id": APP_ID,
    "created": _STAMP,
    "updated": _STAMP,
    "name": "blog",
    "server_id": SERVER_ID,
    "remote_path": "/opt/pocketbase/blog",
    "service_name": "pocketbase-blog",
    "domain": "blog.example.com",
    "http_port": 8090,
    "binary_name": "pocketbase",
    "current_version": None,
    "status": "new",
}
VERSION_CREATE = {"app_id": APP_ID, "version_number": "1.4.0", "notes": "adds comments"}
VERSION: dict[str, Any] = {
    "id": VERSION_ID,
    "created": _STAMP,
    "updated": _STAMP,
    "app_id": APP_ID,
    "version_number": "1.4.0",
    "deployment_zip": None,
    "notes": "adds comments",
    "zip_sha256": None,
    "zip_size": None,
    "zip_entry_count": None,
    "zip_migrations": [],
    "uploaded_at": None,
}
ZIP_SHA256 = "9f2c4e1b7a0d3c5e8f6a2b4d1c3e5f7a9b0c2d4e6f8a1b3c5d7e9f0a2b4c6d8e"
VERSION_WITH_ZIP = VERSION | {
    "updated": "2026-01-01T12:05:00Z",
    "deployment_zip": f"sha256:{ZIP_SHA256}",
    "zip_sha256": ZIP_SHA256,
    "zip_size": 14_811_201,
    "zip_entry_count": 4,
    "zip_migrations": ["1700000000_init.js", "1700000100_comments.js"],
    "uploaded_at": "2026-01-01T12:05:00Z",
}
VERSION_FORM = {"app_id": APP_ID, "version_number": "1.4.0", "notes": "adds comments"}
HEALTH = {
    "status": "ok",
    "version": "0.1.0",
    "components": [
        {"name": "database", "status": "ok", "detail": "round trip ok", "latency_ms": 0.4},
        {"name": "storage", "status": "ok", "detail": "80000 MiB free (threshold 512 MiB)"},
    ],
}

_ERROR_EXAMPLES: dict[int, tuple[str, str, str]] = {
    400: ("Malformed JSON", "malformed_json", "JSON is malformed: invalid character (byte 1)"),
    401: ("Missing token", "unauthorized", "missing or wrong API token"),
    404: ("Not found", "not_found", "server '01JH8Z6X4T3D3Q9V4W0Y5K7B2M' does not exist"),
    409: ("Conflict", "conflict", "a server named 'web1' already exists"),
    413: (
        "Too large",
        "payload_too_large",
        "the upload is larger than the 1.0 GiB limit; leave pb_data and other large files out "
        "of the zip, or raise the limit",
    ),
    415: (
        "Wrong content type",
        "unsupported_media_type",
        "Content-Type 'text/plain' is not accepted here; send the zip as application/zip or "
        "multipart/form-data",
    ),
    416: (
        "Range outside the file",
        "range_not_satisfiable",
        "the requested range is outside the file's 14811201 bytes",
    ),
    422: ("Invalid field", "validation_failed", "port: must be between 1 and 65535"),
    507: (
        "Disk full",
        "storage_full",
        "only 400.0 MiB free in .pbdeployer/blobs/tmp, and 512.0 MiB must stay free; delete old "
        "versions or make room on the disk",
    ),
}
_FORM = "multipart/form-data"
_ZIP_REJECTED = Example(
    summary="Zip refused",
    value={
        "error": {
            "code": "path_traversal",
            "message": "entry '../evil' escapes the app directory; remove '..' from its path",
            "details": [],
        }
    },
)


def example(summary: str, value: Any) -> list[Example]:
    return [Example(summary=summary, value=value)]


def page_of(item: dict[str, Any]) -> dict[str, Any]:
    return {"items": [item], "page": 1, "per_page": 20, "total": 1, "total_pages": 1}


def responses(*statuses: int, zip_checks: bool = False) -> dict[int, ResponseSpec]:
    """Error answers (with the shared body and an example) for the given status codes.

    ``zip_checks`` adds a refused zip to the 422 examples (its code is a ``RejectCode``).
    """
    specs = {}
    for status in sorted({400, 401, *statuses}):
        summary, code, message = _ERROR_EXAMPLES[status]
        body: dict[str, Any] = {"error": {"code": code, "message": message, "details": []}}
        if status == 422:
            body["error"]["details"] = [{"field": "port", "reason": "must be between 1 and 65535"}]
        examples = example(summary, body)
        if status == 422 and zip_checks:
            examples.append(_ZIP_REJECTED)
        specs[status] = ResponseSpec(
            data_container=ErrorBody,
            description="Invalid field, or the zip was refused" if len(examples) > 1 else summary,
            generate_examples=False,
            examples=examples,
        )
    return specs


def _binary(description: str) -> OpenAPISchema:
    return OpenAPISchema(
        type=OpenAPIType.STRING, content_media_type="application/zip", description=description
    )


def _raw_zip() -> dict[str, OpenAPIMediaType]:
    schema = _binary("the zip's bytes")
    return {
        media_type: OpenAPIMediaType(schema=schema)
        for media_type in ("application/zip", "application/octet-stream")
    }


def _form(fields: list[str], required: list[str], value: dict[str, str]) -> OpenAPIMediaType:
    properties: dict[str, OpenAPISchema | Reference] = {
        name: OpenAPISchema(type=OpenAPIType.STRING) for name in fields
    }
    properties["file"] = _binary("the zip; must be the form's last part")
    schema = OpenAPISchema(
        type=OpenAPIType.OBJECT, properties=properties, required=[*required, "file"]
    )
    form_example: dict[str, Example | Reference] = {
        "a-form": Example(summary="A form", value=value | {"file": "<app.zip>"})
    }
    return OpenAPIMediaType(schema=schema, examples=form_example)


@dataclass
class ZipUploadOperation(Operation):
    """The upload's body: the zip raw, or as the ``file`` part of a form."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="The app zip, as the raw body or as a form's `file` part.",
            content=_raw_zip() | {_FORM: _form([], [], {})},
        )


@dataclass
class VersionFormOperation(Operation):
    """A new version's fields and its zip in one form, the file last."""

    def __post_init__(self) -> None:
        fields = ["app_id", "version_number", "notes"]
        self.request_body = RequestBody(
            required=True,
            description="The version's fields, then its zip as the last part, `file`.",
            content={_FORM: _form(fields, ["app_id", "version_number"], VERSION_FORM)},
        )


def success(model: Any, summary: str, value: Any, description: str = "Success") -> ResponseSpec:
    return ResponseSpec(
        data_container=model,
        description=description,
        generate_examples=False,
        examples=example(summary, value),
    )


def _header(description: str) -> OpenAPIHeader:
    return OpenAPIHeader(description=description, schema=OpenAPISchema(type=OpenAPIType.STRING))


_DOWNLOAD_HEADERS: dict[str, OpenAPIHeader | Reference] = {
    "Content-Length": _header("the body's size in bytes"),
    "ETag": _header("the zip's sha256, quoted"),
    "Accept-Ranges": _header("always `bytes`"),
    "Content-Disposition": _header("an attachment named `<app>-<version>.zip`"),
}


@dataclass
class ZipDownloadOperation(Operation):
    """The download's answers: the whole zip (200) or one byte range of it (206)."""

    def __post_init__(self) -> None:
        ranged = _DOWNLOAD_HEADERS | {"Content-Range": _header("`bytes <first>-<last>/<size>`")}
        answers = {
            "200": ("The whole zip", _DOWNLOAD_HEADERS),
            "206": ("The requested bytes of the zip", ranged),
        }
        for status, (description, headers) in answers.items():
            content = {"application/zip": OpenAPIMediaType(schema=_binary("the zip's bytes"))}
            response = OpenAPIResponse(description=description, headers=headers, content=content)
            self.responses = (self.responses or {}) | {status: response}
