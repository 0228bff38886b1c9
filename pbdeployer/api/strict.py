"""Strict request values: a JSON body and the query are taken as typed, never coerced.

Litestar converts a handler's arguments in msgspec's lax mode, which turns ``"22"`` into 22
and ``"true"`` or ``1`` into ``True``. This hook runs before that conversion and refuses any
value whose type is not the declared one, so the lax pass only ever sees well-typed values.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.params import ParameterKwarg
from litestar.typing import FieldDefinition

_INTEGER = re.compile(r"-?[0-9]+\Z")
_BOOLEANS = ("true", "false")
_PATH = re.compile(r" - at `\$(.*)`\Z")
_NAMED_FIELD = re.compile(r"field `([^`]+)`")


async def strict_values(request: Request[Any, Any, Any]) -> None:
    """Refuse (422) a body or query value of the wrong type, naming the field."""
    parameters = request.route_handler.parsed_fn_signature.parameters
    problems = [_query_problem(request, name, field) for name, field in parameters.items()]
    messages = [p for p in problems if p is not None]
    data = parameters.get("data")
    if not messages and data is not None:
        messages.extend(_body_problems(await request.body(), data.annotation))
    if messages:
        raise ValidationException(extra=messages)


def _body_problems(body: bytes, annotation: Any) -> list[dict[str, str]]:
    if not body.strip():
        return []  # a missing body is Litestar's 400 (or the declared default)
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return []  # malformed JSON keeps Litestar's own 400
    try:
        msgspec.convert(value, annotation, strict=True)
    except msgspec.ValidationError as exc:
        return [_body_message(str(exc))]
    return []


def _body_message(text: str) -> dict[str, str]:
    """``Expected `int`, got `str` - at `$.extra_ports[0]``` → field ``extra_ports[0]``."""
    at = _PATH.search(text)
    reason = text[: at.start()] if at else text
    path = at.group(1).removeprefix(".") if at else ""
    named = _NAMED_FIELD.search(reason)
    field = path or (named.group(1) if named else "body")
    return {"key": field, "message": reason, "source": "body"}


def _query_problem(
    request: Request[Any, Any, Any], name: str, field: FieldDefinition
) -> dict[str, str] | None:
    kwarg = field.kwarg_definition
    if isinstance(kwarg, ParameterKwarg) and (kwarg.header or kwarg.cookie):
        return None
    key = kwarg.query if isinstance(kwarg, ParameterKwarg) and kwarg.query else name
    if key not in request.query_params or key in request.path_params:
        return None
    kinds = _kinds(field)
    for raw in request.query_params.getall(key):
        if bool in kinds and raw not in _BOOLEANS:
            return {"key": key, "message": "must be true or false", "source": "query"}
        if bool not in kinds and int in kinds and not _INTEGER.match(raw):
            return {
                "key": key,
                "message": "must be an integer in decimal digits",
                "source": "query",
            }
    return None


def _kinds(field: FieldDefinition) -> set[Any]:
    if field.is_union:
        return {inner.annotation for inner in field.inner_types if not inner.is_none_type}
    return {field.annotation}
