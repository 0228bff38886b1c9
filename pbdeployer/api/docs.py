"""OpenAPI helpers: example bodies and the error answers each operation can give."""

from __future__ import annotations

from typing import Any

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

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
VERSION = {
    "id": VERSION_ID,
    "created": _STAMP,
    "updated": _STAMP,
    "app_id": APP_ID,
    "version_number": "1.4.0",
    "deployment_zip": None,
    "notes": "adds comments",
}
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
    422: ("Invalid field", "validation_failed", "port: must be between 1 and 65535"),
}


def example(summary: str, value: Any) -> list[Example]:
    return [Example(summary=summary, value=value)]


def page_of(item: dict[str, Any]) -> dict[str, Any]:
    return {"items": [item], "page": 1, "per_page": 20, "total": 1, "total_pages": 1}


def responses(*statuses: int) -> dict[int, ResponseSpec]:
    """Error answers (with the shared body and an example) for the given status codes."""
    specs = {}
    for status in sorted({400, 401, *statuses}):
        summary, code, message = _ERROR_EXAMPLES[status]
        body: dict[str, Any] = {"error": {"code": code, "message": message, "details": []}}
        if status == 422:
            body["error"]["details"] = [{"field": "port", "reason": "must be between 1 and 65535"}]
        specs[status] = ResponseSpec(
            data_container=ErrorBody,
            description=summary,
            generate_examples=False,
            examples=example(summary, body),
        )
    return specs


def success(model: Any, summary: str, value: Any, description: str = "Success") -> ResponseSpec:
    return ResponseSpec(
        data_container=model,
        description=description,
        generate_examples=False,
        examples=example(summary, value),
    )
