"""Versions: a labelled build of an app, later carrying its zip."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import msgspec

ZIP_ADDRESS_PREFIX = "sha256:"


class Version(msgspec.Struct, frozen=True, kw_only=True):
    """A build of an app. The ``zip_*`` fields describe its uploaded zip; all are empty before.

    ``deployment_zip`` is the stored zip's content address, ``sha256:<hex>``, or null until a
    zip is uploaded: versions with the same content share one stored file.
    """

    id: str
    created: datetime
    updated: datetime
    app_id: str
    version_number: str
    deployment_zip: Annotated[
        str | None,
        msgspec.Meta(
            description="the stored zip's content address, `sha256:<hex>`; null until upload"
        ),
    ]
    notes: str
    zip_sha256: str | None = None
    zip_size: int | None = None
    zip_entry_count: int | None = None
    zip_migrations: Annotated[
        list[str], msgspec.Meta(description="files in the zip's pb_migrations/, in run order")
    ] = msgspec.field(default_factory=list)
    uploaded_at: datetime | None = None


class VersionCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    app_id: str
    version_number: str
    notes: str = ""


class VersionFilter(msgspec.Struct, frozen=True, kw_only=True):
    app_id: str | None = None


class StoredZip(msgspec.Struct, frozen=True, kw_only=True):
    """Where a version's zip is on this machine, and what a download should call it."""

    path: Path
    sha256: str
    size: int
    filename: str


def zip_address(sha256: str) -> str:
    """The content address stored in ``Version.deployment_zip``."""
    return ZIP_ADDRESS_PREFIX + sha256
