"""Versions: a labelled build of an app, later carrying its zip."""

from __future__ import annotations

from datetime import datetime

import msgspec


class Version(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    created: datetime
    updated: datetime
    app_id: str
    version_number: str
    deployment_zip: str | None
    notes: str


class VersionCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    app_id: str
    version_number: str
    notes: str = ""


class VersionFilter(msgspec.Struct, frozen=True, kw_only=True):
    app_id: str | None = None
