"""Apps: one PocketBase (or single-binary) service on one server."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType


class AppStatus(enum.StrEnum):
    NEW = "new"
    DEPLOYING = "deploying"
    RUNNING = "running"
    FAILED = "failed"
    STOPPED = "stopped"


class TlsMode(enum.StrEnum):
    """How the proxy serves an app's domain: a public (ACME) certificate, one from the
    proxy's own CA, or plain HTTP. An app without a domain is never proxied."""

    ACME = "acme"
    INTERNAL = "internal"
    OFF = "off"


_DOMAIN = (
    "The domain the server's proxy serves the app at (its DNS must point at the server). "
    "null: the app is loopback-only, reachable on 127.0.0.1:<http_port> of its server alone."
)
_TLS = (
    "How the proxy serves the domain: acme (a public certificate, Let's Encrypt), "
    "internal (the proxy's own CA) or off (plain HTTP). Unused without a domain."
)


class App(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    created: datetime
    updated: datetime
    name: str
    server_id: str
    remote_path: str
    service_name: str
    domain: Annotated[str | None, msgspec.Meta(description=_DOMAIN)]
    http_port: int
    binary_name: str
    current_version: str | None
    status: AppStatus
    tls: Annotated[TlsMode, msgspec.Meta(description=_TLS)] = TlsMode.ACME


class AppCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new app. Unset path, unit and port are derived from the name and the server."""

    name: str
    server_id: str
    remote_path: str | None = None
    service_name: str | None = None
    domain: Annotated[str | None, msgspec.Meta(description=_DOMAIN)] = None
    http_port: int | None = None
    binary_name: str = "pocketbase"
    tls: Annotated[TlsMode, msgspec.Meta(description=_TLS)] = TlsMode.ACME


class AppUpdate(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    name: str | UnsetType = UNSET
    remote_path: str | UnsetType = UNSET
    service_name: str | UnsetType = UNSET
    domain: str | UnsetType | None = UNSET
    http_port: int | UnsetType = UNSET
    binary_name: str | UnsetType = UNSET
    tls: TlsMode | UnsetType = UNSET


class AppFilter(msgspec.Struct, frozen=True, kw_only=True):
    server_id: str | None = None
    status: AppStatus | None = None
    q: str | None = None
