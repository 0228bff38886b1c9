"""The one place where errors become HTTP answers, all with the same body."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_502_BAD_GATEWAY,
    HTTP_504_GATEWAY_TIMEOUT,
    HTTP_507_INSUFFICIENT_STORAGE,
)
from litestar.types import ExceptionHandlersMap

from pbdeployer import errors
from pbdeployer.api.schemas import ErrorBody, ErrorDetail, ErrorInfo
from pbdeployer.errors import (
    ArtifactRejected,
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PbDeployerError,
    RunError,
    RunTimeout,
    StorageFull,
)
from pbdeployer.services import RejectCode

log: logging.Logger = logging.getLogger(__name__)

_STATUS_BY_ERROR: list[tuple[type[PbDeployerError], int]] = [
    (NotFound, HTTP_404_NOT_FOUND),
    (Conflict, HTTP_409_CONFLICT),
    (InvalidInput, HTTP_422_UNPROCESSABLE_ENTITY),
    (ArtifactRejected, HTTP_422_UNPROCESSABLE_ENTITY),
    (PayloadTooLarge, HTTP_413_REQUEST_ENTITY_TOO_LARGE),
    (StorageFull, HTTP_507_INSUFFICIENT_STORAGE),
    (RunTimeout, HTTP_504_GATEWAY_TIMEOUT),
    (RunError, HTTP_502_BAD_GATEWAY),
]
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    429: "too_many_requests",
}
_OWN_CODES = ("http_error", "malformed_json", "client_disconnected", "internal_error")
_FIELD_IN_MESSAGE = re.compile(r"field `([^`]+)`")


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[ErrorDetail] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response[ErrorBody]:
    body = ErrorBody(error=ErrorInfo(code=code, message=message, details=details or []))
    return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)


def domain_error(_: Request[Any, Any, Any], exc: PbDeployerError) -> Response[ErrorBody]:
    status = next(
        (s for cls, s in _STATUS_BY_ERROR if isinstance(exc, cls)), HTTP_500_INTERNAL_SERVER_ERROR
    )
    details = []
    if isinstance(exc, InvalidInput):
        details = [ErrorDetail(field=p.field, reason=p.reason) for p in exc.details]
    return error_response(status, exc.code, exc.message, details)


def validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[ErrorBody]:
    """Litestar's own parsing errors: a missing body is a 400, wrong fields are a 422."""
    details = [_detail(item) for item in exc.extra or [] if isinstance(item, dict)]
    if any(d.reason == "'data'" for d in details):
        return error_response(HTTP_400_BAD_REQUEST, "bad_request", "the request needs a JSON body")
    message = "; ".join(f"{d.field}: {d.reason}" for d in details) or "invalid input"
    return error_response(HTTP_422_UNPROCESSABLE_ENTITY, "validation_failed", message, details)


def http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    if exc.status_code >= HTTP_500_INTERNAL_SERVER_ERROR:
        return internal_error(_, exc)
    if exc.status_code == HTTP_400_BAD_REQUEST and re.search(
        "malformed|truncated", str(exc.detail), re.I
    ):
        code = "malformed_json"
    return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)


def nested_too_deep(request: Request[Any, Any, Any], exc: RecursionError) -> Response[ErrorBody]:
    """msgspec refuses JSON nested past its depth limit with a RecursionError: the input's fault."""
    if "deserializing" not in str(exc):
        return internal_error(request, exc)
    return error_response(
        HTTP_400_BAD_REQUEST, "malformed_json", "the JSON body is nested too deeply to read"
    )


def internal_error(_: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    log.error("unhandled error", exc_info=exc)
    return error_response(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "internal_error",
        "an internal error occurred; the server log has the details",
    )


def _detail(item: dict[str, object]) -> ErrorDetail:
    field = str(item.get("key") or "body")
    reason = str(item.get("message") or "invalid")
    named = _FIELD_IN_MESSAGE.search(reason)
    if field == "data":
        field = named.group(1) if named else "body"
    return ErrorDetail(field=field, reason=reason)


def error_codes() -> tuple[str, ...]:
    """Every ``code`` an error body can carry: the domain errors', the zip checks', HTTP's."""
    domain = {
        kind.code
        for kind in vars(errors).values()
        if isinstance(kind, type) and issubclass(kind, PbDeployerError)
    }
    return tuple(
        sorted(domain | {c.value for c in RejectCode} | {*_HTTP_CODES.values(), *_OWN_CODES})
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    PbDeployerError: domain_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    RecursionError: nested_too_deep,
    Exception: internal_error,
}
