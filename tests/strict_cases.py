"""Wrong-type inputs the API refuses with 422, shared with the library's tests.

The library must refuse the same values with ``InvalidInput`` naming the same field, so both
test modules read their cases from here.
"""

from __future__ import annotations

from typing import Any

SERVER_CREATE: list[tuple[str, Any]] = [
    ("port", "22"),
    ("port", 22.0),
    ("port", 22.5),
    ("port", True),
    ("port", None),
    ("use_ssh_agent", "true"),
    ("use_ssh_agent", 1),
    ("host", 10),
    ("host", None),
    ("name", ["web1"]),
    ("manual_key_path", 5),
]
"""(field, value) of a server's create body."""

OPERATIONS: list[tuple[str, str, Any, str]] = [
    ("lockdown", "extra_ports", ["8443"], "extra_ports[0]"),
    ("lockdown", "extra_ports", [True], "extra_ports[0]"),
    ("setup_packages", "packages", [1], "packages[0]"),
    ("rollback", "restore_data", "true", "restore_data"),
    ("deploy", "version_id", 7, "version_id"),
]
"""(operation, body field, value, field named in the error) of operations on a host or app."""
