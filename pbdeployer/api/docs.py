"""OpenAPI helpers: example bodies and the error answers each operation can give."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.enums import ParamType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Example,
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
)
from litestar.openapi.spec import Schema as OpenAPISchema

from pbdeployer.api.schemas import ErrorBody

_STAMP = "2026-01-01T12:00:00Z"
SERVER_ID = "01JH8Z6X4T3D3Q9V4W0Y5K7B2M"
APP_ID = "01JH8Z7C2V5M8N1P3Q4R6S7T8U"
VERSION_ID = "01JH8Z8D9E0F1G2H3J4K5M6N7P"

SERVER_CREATE: dict[str, Any] = {
    "name": "web1",
    "host": "203.0.113.10",
    "port": 22,
    "app_username": "pocketbase",
}
SERVER_UPDATE: dict[str, Any] = {"port": 2222}
SERVER: dict[str, Any] = {
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
APP_CREATE: dict[str, Any] = {"name": "blog", "server_id": SERVER_ID, "domain": "blog.example.com"}
APP_UPDATE: dict[str, Any] = {"domain": "www.blog.example.com"}
APP: dict[str, Any] = {
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
APP_ENV_UPDATE: dict[str, Any] = {
    "variables": [
        {"key": "PB_ENCRYPTION_KEY", "value": "an-example-32-character-value-00", "secret": True},
        {"key": "SMTP_HOST", "value": "smtp.example.com"},
    ]
}
APP_ENV: dict[str, Any] = {
    "app_id": APP_ID,
    "variables": [
        {"key": "PB_ENCRYPTION_KEY", "secret": True, "value": None, "set": True},
        {"key": "SMTP_HOST", "secret": False, "value": "smtp.example.com", "set": True},
    ],
}
VERSION_CREATE: dict[str, Any] = {
    "app_id": APP_ID,
    "version_number": "1.4.0",
    "notes": "adds comments",
}
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
VERSION_WITH_ZIP: dict[str, Any] = VERSION | {
    "updated": "2026-01-01T12:05:00Z",
    "deployment_zip": f"sha256:{ZIP_SHA256}",
    "zip_sha256": ZIP_SHA256,
    "zip_size": 14_811_201,
    "zip_entry_count": 4,
    "zip_migrations": ["1700000000_init.js", "1700000100_comments.js"],
    "uploaded_at": "2026-01-01T12:05:00Z",
}
VERSION_FORM: dict[str, Any] = {
    "app_id": APP_ID,
    "version_number": "1.4.0",
    "notes": "adds comments",
}
HEALTH: dict[str, Any] = {
    "view": "full",
    "status": "ok",
    "version": "0.1.0",
    "components": [
        {"name": "database", "status": "ok", "detail": "round trip ok", "latency_ms": 0.4},
        {"name": "storage", "status": "ok", "detail": "80000 MiB free (threshold 512 MiB)"},
    ],
}
HEALTH_PUBLIC: dict[str, Any] = {
    "view": "summary",
    "status": "ok",
    "components": [{"name": "database", "status": "ok"}, {"name": "storage", "status": "ok"}],
}

TASK_ID = "01JH8Z9A1B2C3D4E5F6G7H8J9K"
TASK_QUEUED: dict[str, Any] = {
    "id": TASK_ID,
    "kind": "setup_packages",
    "status": "queued",
    "mutating": True,
    "server_id": SERVER_ID,
    "app_id": None,
    "deployment_id": None,
    "params": {"extra_packages": ["htop"]},
    "progress": 0,
    "step": "",
    "created": _STAMP,
    "started_at": None,
    "finished_at": None,
    "error": None,
    "result": None,
    "event_count": 0,
}
TASK_RUNNING: dict[str, Any] = TASK_QUEUED | {
    "status": "running",
    "progress": 40,
    "step": "Install packages",
    "started_at": "2026-01-01T12:00:01Z",
}
TASK_CANCELLED: dict[str, Any] = TASK_QUEUED | {
    "status": "cancelled",
    "finished_at": "2026-01-01T12:00:02Z",
    "error": {"code": "cancelled", "message": "cancelled before it started"},
    "event_count": 3,
}
TASK_EVENTS: list[dict[str, Any]] = [
    {"type": "task_status", "task_id": TASK_ID, "seq": 1, "created": _STAMP, "status": "queued",
     "error": None},
    {"type": "task_status", "task_id": TASK_ID, "seq": 2, "created": _STAMP, "status": "running",
     "error": None},
    {"type": "host_result", "task_id": TASK_ID, "seq": 3, "created": _STAMP, "host": "web1",
     "task": "Install packages", "action": "ansible.builtin.apt", "outcome": "changed",
     "message": ""},
]  # fmt: skip
PACKAGES: dict[str, Any] = {"packages": ["htop", "sqlite3"]}
DEPLOYMENT_ID = "01JH8ZB3C4D5E6F7G8H9J0K1M2"
DEPLOY: dict[str, Any] = {"version_id": VERSION_ID}
ROLLBACK: dict[str, Any] = {"restore_data": False}
DEPLOYMENT_QUEUED: dict[str, Any] = {
    "id": DEPLOYMENT_ID,
    "created": _STAMP,
    "updated": _STAMP,
    "app_id": APP_ID,
    "version_id": VERSION_ID,
    "status": "queued",
    "logs": "",
    "started_at": None,
    "completed_at": None,
    "server_id": SERVER_ID,
    "kind": "deploy",
    "task_id": TASK_ID,
    "previous_version_id": None,
    "release": "1.4.0",
    "progress": 0,
    "step": "",
    "restore_data": False,
    "rolled_back": False,
    "restored_data": False,
    "snapshot": None,
    "error_code": None,
    "error_message": None,
}
DEPLOYMENT_SUCCEEDED: dict[str, Any] = DEPLOYMENT_QUEUED | {
    "status": "succeeded",
    "started_at": "2026-01-01T12:00:01Z",
    "completed_at": "2026-01-01T12:00:05Z",
    "progress": 100,
    "step": "done",
    "snapshot": "/opt/pocketbase/blog/backups/01JH8ZB3C4D5E6F7G8H9J0K1M2",
    "logs": "12:00:01 deploy of release 1.4.0 started\n12:00:05 deployed and healthy",
}
DEPLOYMENT_STATE: dict[str, Any] = {
    "id": DEPLOYMENT_ID,
    "status": "running",
    "percent": 60,
    "step": "switch",
    "created": _STAMP,
    "started_at": "2026-01-01T12:00:01Z",
    "completed_at": None,
    "queued_seconds": 1.0,
    "duration_seconds": None,
    "error_code": None,
    "error_message": None,
}
_DURATIONS = {"p50_seconds": 4.2, "p95_seconds": 7.9}
DEPLOYMENT_STATS: dict[str, Any] = {
    "since": "2025-12-02T12:00:00Z",
    "until": _STAMP,
    "total": 10,
    "by_status": {"failed": 1, "succeeded": 9},
    "success_rate": 0.9,
    "duration": _DURATIONS,
    "apps_total": 1,
    "apps": [
        {"app_id": APP_ID, "total": 10, "by_status": {"failed": 1, "succeeded": 9},
         "success_rate": 0.9, "duration": _DURATIONS},
    ],
}  # fmt: skip
LOCKDOWN: dict[str, Any] = {"extra_ports": [8443]}
RESTART: dict[str, Any] = {"action": "restart"}
UNIT: dict[str, Any] = {
    "app_id": APP_ID,
    "unit": "pocketbase-blog.service",
    "load_state": "loaded",
    "active_state": "active",
    "sub_state": "running",
    "main_pid": 4242,
    "since": _STAMP,
    "memory_bytes": 24_117_248,
    "restart_count": 0,
    "enabled": "enabled",
}
LOG_LINE: dict[str, Any] = {
    "time": _STAMP,
    "priority": 6,
    "message": "Server started at http://127.0.0.1:8090",
}
AUDIT_WITH_AGE: dict[str, Any] = {
    "report": {
        "id": "01JH8ZA2B3C4D5E6F7G8H9J0K1",
        "server_id": SERVER_ID,
        "created": _STAMP,
        "score": 90,
        "summary": {"pass": 9, "fail": 1, "warn": 0},
        "findings": [
            {
                "id": "ssh_root_login",
                "title": "Root cannot log in over SSH",
                "severity": "high",
                "status": "fail",
                "evidence": "PermitRootLogin yes",
                "remediation": "POST /servers/{server_id}/security/lockdown",
            }
        ],
    },
    "age_seconds": 3600.0,
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
    502: (
        "Host run failed",
        "host_unreachable",
        "could not reach 203.0.113.10:22 over SSH: connection refused",
    ),
    504: (
        "Host too slow",
        "run_timeout",
        "the host did not answer within 60 s; task '01JH8Z9A1B2C3D4E5F6G7H8J9K' was cancelled "
        "— try again when the host is less busy",
    ),
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
    return {
        "items": [item], "page": 1, "per_page": 20, "total": 1, "total_pages": 1,
        "next_cursor": None,
    }  # fmt: skip


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


_OCTETS = "application/octet-stream"


def _binary(description: str) -> OpenAPISchema:
    """Bytes, as generators know them (``format: binary``: a file or bytes, not a string)."""
    return OpenAPISchema(
        type=OpenAPIType.STRING,
        format=OpenAPIFormat.BINARY,
        content_media_type="application/zip",
        description=description,
    )


def _raw_zip() -> dict[str, OpenAPIMediaType]:
    """Only ``application/octet-stream``: the raw type generators send as bytes."""
    return {_OCTETS: OpenAPIMediaType(schema=_binary("the zip's bytes"))}


def _form(fields: list[str], required: list[str], value: dict[str, str]) -> OpenAPIMediaType:
    properties: dict[str, OpenAPISchema | Reference] = {
        name: OpenAPISchema(type=OpenAPIType.STRING) for name in fields
    }
    properties["file"] = _binary("the zip; before or after the other fields")
    schema = OpenAPISchema(
        type=OpenAPIType.OBJECT,
        properties=properties,
        required=[*required, "file"],
        additional_properties=False,  # the server refuses any other part
    )
    form_example: dict[str, Example | Reference] = {
        "a-form": Example(summary="A form", value=value | {"file": "<app.zip>"})
    }
    return OpenAPIMediaType(schema=schema, examples=form_example)


@dataclass
class ZipUploadOperation(Operation):
    """The upload's body, as one raw binary type (generators break on a choice of bodies)."""

    def __post_init__(self) -> None:
        self.request_body: RequestBody | Reference | None = RequestBody(
            required=True,
            description="The app zip's bytes. The server also takes them as `application/zip` "
            "or `application/x-zip-compressed`, or as the `file` part of a "
            "`multipart/form-data` form.",
            content=_raw_zip(),
        )


@dataclass
class VersionFormOperation(Operation):
    """A new version's fields and its zip in one form, the file last."""

    def __post_init__(self) -> None:
        fields = ["app_id", "version_number", "notes"]
        self.request_body: RequestBody | Reference | None = RequestBody(
            required=True,
            description="The version's fields and its zip as the part `file`, in any order.",
            content={_FORM: _form(fields, ["app_id", "version_number"], VERSION_FORM)},
        )


def success(model: Any, summary: str, value: Any, description: str = "Success") -> ResponseSpec:
    return ResponseSpec(
        data_container=model,
        description=description,
        generate_examples=False,
        examples=example(summary, value),
    )


def health(model: Any, description: str, status: dict[str, str]) -> ResponseSpec:
    """Both shapes of a health answer: what anyone sees, and what the token's holder sees."""
    return ResponseSpec(
        data_container=model,
        description=description,
        generate_examples=False,
        examples=[
            Example(summary=f"{description}, without the token", value=HEALTH_PUBLIC | status),
            Example(summary=f"{description}, with the token", value=HEALTH | status),
        ],
    )


def _header(description: str) -> OpenAPIHeader:
    return OpenAPIHeader(description=description, schema=OpenAPISchema(type=OpenAPIType.STRING))


_DOWNLOAD_HEADERS: dict[str, OpenAPIHeader | Reference] = {
    "Content-Length": _header("the body's size in bytes"),
    "ETag": _header("the zip's sha256, quoted"),
    "Accept-Ranges": _header("always `bytes`"),
    "Content-Disposition": _header("an attachment named `<app>-<version>.zip`"),
}


_RANGE_HEADERS = [
    Parameter(
        name="Range",
        param_in=ParamType.HEADER,
        required=False,
        description="One byte range: `bytes=<first>-<last>`, `bytes=<first>-` or "
        "`bytes=-<suffix length>`; answered with 206. Several ranges get the whole zip.",
        schema=OpenAPISchema(type=OpenAPIType.STRING, pattern=r"^bytes=\d*-\d*$"),
        examples={"resume": Example(summary="From byte 1048576 on", value="bytes=1048576-")},
    ),
    Parameter(
        name="If-Range",
        param_in=ParamType.HEADER,
        required=False,
        description="The ETag of the zip a partial download started from: the range is "
        "served only while it still matches, else the whole current zip (200).",
        schema=OpenAPISchema(type=OpenAPIType.STRING),
        examples={"etag": Example(summary="The zip's ETag", value=f'"{ZIP_SHA256}"')},
    ),
]


@dataclass
class ZipDownloadOperation(Operation):
    """The download: its range headers, and its answers, the whole zip (200) or a range (206).

    Both answers list ``application/octet-stream`` beside ``application/zip``: generators
    read the former as bytes, and the server answers with it when ``Accept`` asks for it.
    """

    def __post_init__(self) -> None:
        self.parameters = [*(self.parameters or []), *_RANGE_HEADERS]
        ranged = _DOWNLOAD_HEADERS | {"Content-Range": _header("`bytes <first>-<last>/<size>`")}
        answers = {
            "200": ("The whole zip", _DOWNLOAD_HEADERS),
            "206": ("The requested bytes of the zip", ranged),
        }
        responses: dict[str, OpenAPIResponse | Reference] = dict(self.responses or {})
        for status, (description, headers) in answers.items():
            content = {
                media_type: OpenAPIMediaType(schema=_binary("the zip's bytes"))
                for media_type in (_OCTETS, "application/zip")
            }
            response = OpenAPIResponse(description=description, headers=headers, content=content)
            responses[status] = response
        self.responses: dict[str, OpenAPIResponse | Reference] | None = responses


RETENTION: dict[str, Any] = {
    "cutoff": "2025-10-03T12:00:00Z",
    "tasks_pruned": 412,
    "events_removed": 183_020,
    "vacuumed": False,
}
