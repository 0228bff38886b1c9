"""OpenAPI helpers: example bodies and the error answers each operation can give."""

from __future__ import annotations

import inspect
import json
import typing
from dataclasses import dataclass
from typing import Any

import msgspec
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

from pbdeployer.api import ws
from pbdeployer.api.schemas import ErrorBody
from pbdeployer.models.task_events import TaskEvent

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
APP_ENV_UPDATE = {
    "variables": [
        {"key": "PB_ENCRYPTION_KEY", "value": "an-example-32-character-value-00", "secret": True},
        {"key": "SMTP_HOST", "value": "smtp.example.com"},
    ]
}
APP_ENV = {
    "app_id": APP_ID,
    "variables": [
        {"key": "PB_ENCRYPTION_KEY", "secret": True, "value": None, "set": True},
        {"key": "SMTP_HOST", "secret": False, "value": "smtp.example.com", "set": True},
    ],
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
    "view": "full",
    "status": "ok",
    "version": "0.1.0",
    "components": [
        {"name": "database", "status": "ok", "detail": "round trip ok", "latency_ms": 0.4},
        {"name": "storage", "status": "ok", "detail": "80000 MiB free (threshold 512 MiB)"},
    ],
}
HEALTH_PUBLIC = {
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
TASK_RUNNING = TASK_QUEUED | {
    "status": "running",
    "progress": 40,
    "step": "Install packages",
    "started_at": "2026-01-01T12:00:01Z",
}
TASK_CANCELLED = TASK_QUEUED | {
    "status": "cancelled",
    "finished_at": "2026-01-01T12:00:02Z",
    "error": {"code": "cancelled", "message": "cancelled before it started"},
    "event_count": 3,
}
TASK_EVENTS = [
    {"type": "task_status", "task_id": TASK_ID, "seq": 1, "created": _STAMP, "status": "queued",
     "error": None},
    {"type": "task_status", "task_id": TASK_ID, "seq": 2, "created": _STAMP, "status": "running",
     "error": None},
    {"type": "host_result", "task_id": TASK_ID, "seq": 3, "created": _STAMP, "host": "web1",
     "task": "Install packages", "action": "ansible.builtin.apt", "outcome": "changed",
     "message": ""},
]  # fmt: skip
PACKAGES = {"packages": ["htop", "sqlite3"]}
DEPLOYMENT_ID = "01JH8ZB3C4D5E6F7G8H9J0K1M2"
DEPLOY = {"version_id": VERSION_ID}
ROLLBACK = {"restore_data": False}
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
DEPLOYMENT_SUCCEEDED = DEPLOYMENT_QUEUED | {
    "status": "succeeded",
    "started_at": "2026-01-01T12:00:01Z",
    "completed_at": "2026-01-01T12:00:05Z",
    "progress": 100,
    "step": "done",
    "snapshot": "/opt/pocketbase/blog/backups/01JH8ZB3C4D5E6F7G8H9J0K1M2",
    "logs": "12:00:01 deploy of release 1.4.0 started\n12:00:05 deployed and healthy",
}
DEPLOYMENT_STATE = {
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
DEPLOYMENT_STATS = {
    "since": "2025-12-02T12:00:00Z",
    "until": _STAMP,
    "total": 10,
    "by_status": {"failed": 1, "succeeded": 9},
    "success_rate": 0.9,
    "duration": _DURATIONS,
    "apps": [
        {"app_id": APP_ID, "total": 10, "by_status": {"failed": 1, "succeeded": 9},
         "success_rate": 0.9, "duration": _DURATIONS},
    ],
}  # fmt: skip
LOCKDOWN = {"extra_ports": [8443]}
RESTART = {"action": "restart"}
UNIT = {
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
LOG_LINE = {"time": _STAMP, "priority": 6, "message": "Server started at http://127.0.0.1:8090"}
AUDIT_WITH_AGE = {
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


def _schema_block(kind: Any) -> str:
    schema = msgspec.json.schema(kind)
    return "```json\n" + json.dumps(schema, indent=2, sort_keys=True) + "\n```\n"


def _section(kind: Any) -> str:
    tag = kind.__struct_config__.tag
    doc = inspect.cleandoc(kind.__doc__ or "").split("\n\n")[0]
    return f"### `{tag}`\n\n{doc}\n\n" if doc else f"### `{tag}`\n\n"


def events_markdown() -> str:
    """docs/events.md: the socket's protocol and every event type, with its JSON schema."""
    parts = [_EVENTS_INTRO]
    for title, union in (
        ("Task events", TaskEvent),
        ("Messages a client sends", ws.ClientMessage),
        ("Messages the server sends", ws.ServerMessage),
    ):
        parts.append(f"\n## {title}\n\n")
        for kind in typing.get_args(union):
            parts.append(_section(kind) + _schema_block(kind) + "\n")
    return "".join(parts).rstrip("\n") + "\n"


_EVENTS_INTRO = f"""# Task events

<!-- Generated from the msgspec structs by `pbdeployer.api.docs.events_markdown()`;
a test keeps this file equal to it. -->

Every operation that touches a host runs as a task. Each task has one ordered stream of events,
numbered by `seq` from 1, stored as they happen. The stream ends with `task_finished`, whose
`event_count` equals its own `seq`: a client that has seen that many events has them all.

## The WebSocket `/api/v1/ws`

{inspect.cleandoc(ws.__doc__ or "").partition(chr(10))[2].strip()}

Topics: `tasks` (every task), `task:{{id}}` (one task, replayable from any `seq`),
`server:{{id}}`, `app:{{id}}`, `deployment:{{id}}` (live only: events of tasks on that target).
Close codes: `{ws.CLOSE_UNAUTHORIZED}` wrong or missing token, `{ws.CLOSE_TOO_SLOW}` the client
read too slowly (the `closing` message before it, and the close reason, say where to resume).
An idle connection gets a `ping` every {ws.PING_SECONDS:g} s; the buffer holds
{ws.BUFFER_SIZE} messages per connection.
"""
