"""The event reference (docs/events.md, also served as /api/v1/schema/events.md): the
WebSocket's protocol and every event type, with its JSON schema, from the structs themselves."""

from __future__ import annotations

import inspect
import json
import typing
from typing import Any

import msgspec

from pbdeployer.api import ws
from pbdeployer.models.task_events import TaskEvent


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

<!-- Generated from the msgspec structs by `pbdeployer.api.events_doc.events_markdown()`;
a test keeps this file equal to it. -->

Every operation that touches a host runs as a task. Each task has one ordered stream of events,
numbered by `seq` from 1, stored as they happen. The stream ends with `task_finished`, whose
`event_count` equals its own `seq`: a client that has seen that many events has them all.

## The WebSocket `/api/v1/ws`

{inspect.cleandoc(ws.__doc__ or "").partition(chr(10))[2].strip()}

Topics: `tasks` (every task), `task:{{id}}` (one task, replayable from any `seq`),
`server:{{id}}`, `app:{{id}}`, `deployment:{{id}}` (live only: events of tasks on that target).
The AsyncAPI 3 document of this protocol is served at `/api/v1/schema/asyncapi.yaml`.
Answers: `auth` gets `ready`; each topic of a `subscribe` gets `subscribed` (or `error`);
`unsubscribe` gets no answer. Frames are JSON text; a binary frame gets `error`
(`bad_message`).

Close codes: `{ws.CLOSE_UNAUTHORIZED}` wrong or missing token, `{ws.CLOSE_TOO_SLOW}` the client
read too slowly (the `closing` message before it, and the close reason, say where to resume).
An idle connection gets a `ping` every {ws.PING_SECONDS:g} s; the buffer holds
{ws.BUFFER_SIZE} messages per connection.
"""
