"""The server's input rules (``pbdeployer.validation``) as JSON Schema constraints.

A generated client can then check a request before sending it. Each constraint is one the
server enforces (a unit test holds the patterns to the validators); the server may refuse
more (a reserved path, a name already taken), never less.
"""

from __future__ import annotations

from typing import Any

from pbdeployer.validation import MAX_LIST_ITEMS

Rules = dict[str, Any]

_PORT: Rules = {"type": "integer", "minimum": 1, "maximum": 65535}
_NAME: Rules = {
    "minLength": 1,
    "maxLength": 100,
    "pattern": r"^[A-Za-z0-9]([A-Za-z0-9 _.-]{0,98}[A-Za-z0-9_.-])?$",
}
_HOST: Rules = {"minLength": 1, "maxLength": 253}
_POSIX_USER: Rules = {"minLength": 1, "maxLength": 32, "pattern": r"^[a-z_][a-z0-9_-]{0,31}$"}
_VERSION_LABEL: Rules = {
    "minLength": 1,
    "maxLength": 64,
    "pattern": r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$",
}
_NOTES: Rules = {"maxLength": 10_000}
_PACKAGES: Rules = {
    "maxItems": MAX_LIST_ITEMS,
    "uniqueItems": True,
    "items": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9+.-]{1,99}$"},
}
_PORTS: Rules = {"maxItems": MAX_LIST_ITEMS, "uniqueItems": True, "items": _PORT}

_SERVER: dict[str, Rules] = {
    "name": _NAME,
    "host": _HOST,
    "port": _PORT,
    "root_username": _POSIX_USER,
    "app_username": _POSIX_USER,
}
_APP: dict[str, Rules] = {"name": _NAME, "http_port": _PORT}

REQUEST_RULES: dict[str, dict[str, Rules]] = {
    "ServerCreate": _SERVER,
    "ServerUpdate": _SERVER,
    "AppCreate": _APP,
    "AppUpdate": _APP,
    "VersionCreate": {"version_number": _VERSION_LABEL, "notes": _NOTES},
    "SetupRequest": {"packages": _PACKAGES},
    "Packages": {"packages": _PACKAGES},
    "Lockdown": {"extra_ports": _PORTS},
}
"""Component name → property → constraints (on the property's non-null branch)."""
