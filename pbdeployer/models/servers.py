"""Servers: the Linux hosts pbdeployer manages over SSH."""

from __future__ import annotations

from datetime import datetime

import msgspec
from msgspec import UNSET, UnsetType


class Server(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    created: datetime
    updated: datetime
    name: str
    host: str
    port: int
    root_username: str
    app_username: str
    use_ssh_agent: bool
    manual_key_path: str | None
    setup_complete: bool
    security_locked: bool

    @property
    def connection_user(self) -> str:
        """Root until lockdown turned root login off; the app user (with sudo) after."""
        return self.app_username if self.security_locked else self.root_username


class ServerCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    host: str
    port: int = 22
    root_username: str = "root"
    app_username: str = "pocketbase"
    use_ssh_agent: bool = False
    manual_key_path: str | None = None


class ServerUpdate(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """A partial change: fields left unset keep their value."""

    name: str | UnsetType = UNSET
    host: str | UnsetType = UNSET
    port: int | UnsetType = UNSET
    root_username: str | UnsetType = UNSET
    app_username: str | UnsetType = UNSET
    use_ssh_agent: bool | UnsetType = UNSET
    manual_key_path: str | UnsetType | None = UNSET


class ServerFilter(msgspec.Struct, frozen=True, kw_only=True):
    q: str | None = None
