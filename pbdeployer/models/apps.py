"""Apps: one PocketBase (or single-binary) service on one server."""

from __future__ import annotations

import enum
from datetime import datetime

import msgspec
from msgspec import UNSET, UnsetType


class AppStatus(enum.StrEnum):
    NEW = "new"
    DEPLOYING = "deploying"
    RUNNING = "running"
    FAILED = "failed"
    STOPPED = "stopped"


class App(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    created: datetime
    updated: datetime
    name: str
    server_id: str
    remote_path: str
    service_name: str
    domain: str | None
    http_port: int
    binary_name: str
    current_version: str | None
    status: AppStatus


class AppCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new app. Unset path, unit and port are derived from the name and the server."""

    name: str
    server_id: str
    remote_path: str | None = None
    service_name: str | None = None
    domain: str | None = None
    http_port: int | None = None
    binary_name: str = "pocketbase"


class AppUpdate(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    name: str | UnsetType = UNSET
    remote_path: str | UnsetType = UNSET
    service_name: str | UnsetType = UNSET
    domain: str | UnsetType | None = UNSET
    http_port: int | UnsetType = UNSET
    binary_name: str | UnsetType = UNSET


class AppFilter(msgspec.Struct, frozen=True, kw_only=True):
    server_id: str | None = None
    status: AppStatus | None = None
    q: str | None = None
