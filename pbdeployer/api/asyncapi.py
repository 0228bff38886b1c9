"""The WebSocket ``/api/v1/ws`` as an AsyncAPI 3 document, built from the protocol's structs.

The same msgspec structs decode what clients send and encode what the server sends, so the
document cannot drift from the protocol. It is served at ``/api/v1/schema/asyncapi.yaml`` and
checked in as ``api/asyncapi.yaml``; a test keeps the two equal.
"""

from __future__ import annotations

import inspect
from typing import Any

import msgspec
import yaml

from pbdeployer import __version__
from pbdeployer.api import ws

Json = dict[str, Any]
_REF = "#/components/schemas/{name}"
_CHANNEL = "#/channels/events"

_REPLIES: dict[type[Any], tuple[type[Any], ...]] = {
    ws.Auth: (ws.Ready,),
    ws.Subscribe: (ws.Subscribed, ws.Error),
    ws.Unsubscribe: (),
}
_SUMMARIES: dict[type[Any], str] = {
    ws.Auth: "Authenticate with the API token (when the upgrade had no Authorization header)",
    ws.Subscribe: "Follow topics; a task topic replays its stored events after `after` first",
    ws.Unsubscribe: "Stop following topics; no answer is sent",
    ws.Ready: "The connection is authenticated (first message after a header token)",
    ws.Subscribed: "A topic is followed; its events come next",
    ws.Event: "One task event on a followed topic",
    ws.Error: "A message or topic was refused; the socket stays open",
    ws.Ping: f"Sent every {ws.PING_SECONDS:g} s while nothing else is",
    ws.Closing: f"The client read too slowly; the socket closes with {ws.CLOSE_TOO_SLOW} next",
}
_DESCRIPTION = f"""Task events, live and replayed, over the WebSocket of the pbdeployer API.

Every frame is a JSON text frame, told apart by its `type`. The server sends text frames only;
a binary frame from the client is refused with an `error` (`bad_message`) like any message
that does not parse, and the socket stays open.

Close codes: `{ws.CLOSE_UNAUTHORIZED}` wrong or missing token, `{ws.CLOSE_TOO_SLOW}` the
client read too slowly (the `closing` message before it says where to resume).
The event reference with examples: `GET /api/v1/schema/events.md`.
"""


def asyncapi_document() -> Json:
    """The document as a plain dict (JSON-compatible)."""
    kinds = [*_REPLIES, *typing_args(ws.ServerMessage)]
    _, schemas = msgspec.json.schema_components(kinds, ref_template=_REF)
    return {
        "asyncapi": "3.0.0",
        "info": _info(),
        "servers": {
            "local": {
                "host": "127.0.0.1:8080",
                "protocol": "ws",
                "description": "`pbdeployer serve` on its default address",
                "security": [{"$ref": "#/components/securitySchemes/bearerToken"}],
            }
        },
        "defaultContentType": "application/json",
        "channels": {"events": _channel(kinds)},
        "operations": _operations(),
        "components": {
            "schemas": {name: _asyncapi_schema(s) for name, s in sorted(schemas.items())},
            "messages": {_name(kind): _message(kind) for kind in kinds},
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The API token, as `Authorization: Bearer <token>` on the "
                    "upgrade, or else in an `auth` message within "
                    f"{ws.AUTH_SECONDS:g} s",
                }
            },
        },
    }


def asyncapi_yaml() -> str:
    return yaml.safe_dump(asyncapi_document(), sort_keys=True, allow_unicode=True, width=100)


def typing_args(union: Any) -> tuple[type[Any], ...]:
    return tuple(union.__args__)


def _info() -> Json:
    return {
        "title": "pbdeployer events",
        "version": __version__,
        "description": _DESCRIPTION,
        "license": {"name": "MIT", "url": "https://opensource.org/licenses/MIT"},
        "tags": [{"name": "events", "description": "Task events over the WebSocket"}],
    }


def _name(kind: type[Any]) -> str:
    return str(kind.__struct_config__.tag)


def _channel(kinds: list[type[Any]]) -> Json:
    protocol = inspect.cleandoc(ws.__doc__ or "").partition("\n")[2].strip()
    return {
        "address": "/api/v1/ws",
        "title": "Task events",
        "description": protocol,
        "messages": {_name(k): {"$ref": f"#/components/messages/{_name(k)}"} for k in kinds},
    }


def _operations() -> Json:
    operations: Json = {}
    for kind, replies in _REPLIES.items():
        operation: Json = {
            "action": "receive",
            "channel": {"$ref": _CHANNEL},
            "summary": _SUMMARIES[kind],
            "messages": [{"$ref": f"{_CHANNEL}/messages/{_name(kind)}"}],
        }
        if replies:
            operation["reply"] = {
                "channel": {"$ref": _CHANNEL},
                "messages": [{"$ref": f"{_CHANNEL}/messages/{_name(r)}"} for r in replies],
            }
        operations[f"receive{kind.__name__}"] = operation
    for kind in typing_args(ws.ServerMessage):
        operations[f"send{kind.__name__}"] = {
            "action": "send",
            "channel": {"$ref": _CHANNEL},
            "summary": _SUMMARIES[kind],
            "messages": [{"$ref": f"{_CHANNEL}/messages/{_name(kind)}"}],
        }
    return operations


def _message(kind: type[Any]) -> Json:
    doc = inspect.cleandoc(kind.__doc__ or "")
    message: Json = {
        "name": _name(kind),
        "title": kind.__name__,
        "summary": _SUMMARIES[kind],
        "payload": {"$ref": _REF.format(name=kind.__name__)},
    }
    if doc and not doc.startswith(f"{kind.__name__}("):
        message["description"] = doc
    return message


def _asyncapi_schema(node: Any) -> Any:
    """msgspec's JSON Schema in AsyncAPI's dialect (draft 7): ``discriminator`` names the
    property, and a ``$ref`` stands alone (draft 7 ignores keywords beside it)."""
    if isinstance(node, list):
        return [_asyncapi_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    fixed = {key: _asyncapi_schema(value) for key, value in node.items()}
    if isinstance(fixed.get("discriminator"), dict):
        fixed["discriminator"] = fixed["discriminator"]["propertyName"]
    if "$ref" in fixed and len(fixed) > 1:
        fixed["allOf"] = [{"$ref": fixed.pop("$ref")}]
    return fixed
