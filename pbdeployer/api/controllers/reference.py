"""/schema/asyncapi.yaml and /schema/events.md: the WebSocket's contract, beside OpenAPI's.

Public like the OpenAPI document, and generated from the protocol's structs on first use.
"""

from __future__ import annotations

from functools import cache

from litestar import Controller, Response, get

from pbdeployer.api.asyncapi import asyncapi_yaml
from pbdeployer.api.events_doc import events_markdown

ASYNCAPI_PATH = "/schema/asyncapi.yaml"
EVENTS_PATH = "/schema/events.md"


class ReferenceController(Controller):
    path = "/schema"
    include_in_schema = False

    @get("/asyncapi.yaml", opt={"public": True}, media_type="application/yaml")
    async def asyncapi(self) -> Response[str]:
        return Response(_asyncapi(), media_type="application/yaml; charset=utf-8")

    @get("/events.md", opt={"public": True}, media_type="text/markdown")
    async def events(self) -> Response[str]:
        return Response(_events(), media_type="text/markdown; charset=utf-8")


@cache
def _asyncapi() -> str:
    return asyncapi_yaml()


@cache
def _events() -> str:
    return events_markdown()
