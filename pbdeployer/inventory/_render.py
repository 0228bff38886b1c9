"""Build the inventory for a run from Server records, as data and never as spliced text.

Every value is checked again here even though the API validated it on the way in: the inventory
is where a bad host or user would turn into an SSH option or an extra host, so this layer does
not trust callers. Host names are aliases made from the server id; the display name only ever
appears as a ``!unsafe`` value.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pbdeployer import validation
from pbdeployer.content import content_paths
from pbdeployer.errors import FieldProblem, InvalidInput
from pbdeployer.inventory._untrusted import dump_untrusted_yaml, load_untrusted_yaml
from pbdeployer.models.servers import Server

ALIAS_PREFIX = "srv_"
TEMPLATE_NAME = "inventory.yml"
_SERVER_ID = re.compile(r"^[0-9A-Za-z]{1,64}$")
_HEADER = (
    "# Rendered by pbdeployer from inventory_templates/inventory.yml; every text value is\n"
    "# tagged !unsafe so Ansible treats it as data.\n"
)


def host_alias(server_id: str) -> str:
    """The inventory host name of a server: fixed prefix plus its (checked) id."""
    if not _SERVER_ID.match(server_id):
        raise InvalidInput.single("server.id", "must be 1-64 letters or digits")
    return ALIAS_PREFIX + server_id


def server_id_from_alias(alias: str) -> str | None:
    """Invert ``host_alias``; ``None`` when the name is not one of our aliases."""
    server_id = alias.removeprefix(ALIAS_PREFIX)
    if server_id == alias or not _SERVER_ID.match(server_id):
        return None
    return server_id


@functools.cache
def _template(path: Path) -> dict[str, Any]:
    data = load_untrusted_yaml(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("all"), dict):
        msg = f"{path} must hold an inventory with a top-level 'all' group"
        raise RuntimeError(msg)
    return data


def template() -> dict[str, Any]:
    """The shipped inventory template (the example an engineer copies by hand)."""
    return _template(content_paths().inventory_templates / TEMPLATE_NAME)


def _problems(server: Server, field: str) -> list[FieldProblem]:
    checks: list[tuple[str, str | int, validation.Check]] = [
        ("host", server.host, validation.check_hostname),
        ("root_username", server.root_username, validation.check_posix_user),
        ("app_username", server.app_username, validation.check_posix_user),
    ]
    problems = [
        FieldProblem(field=f"{field}.{name}", reason=reason)
        for name, value, check in checks
        if isinstance(value, str) and (reason := check(value)) is not None
    ]
    if (reason := validation.check_port(server.port)) is not None:
        problems.append(FieldProblem(field=f"{field}.port", reason=reason))
    if server.manual_key_path is not None and (
        reason := validation.check_key_path(server.manual_key_path)
    ):
        problems.append(FieldProblem(field=f"{field}.manual_key_path", reason=reason))
    if not _SERVER_ID.match(server.id):
        problems.append(FieldProblem(field=f"{field}.id", reason="must be 1-64 letters or digits"))
    return problems


def _ssh_extra_args(server: Server) -> str:
    """SSH options from the server's booleans only; no user text reaches this string."""
    args = []
    if server.manual_key_path is not None:
        args.append("-o IdentitiesOnly=yes")
    if not server.use_ssh_agent:
        args.append("-o IdentityAgent=none")
    return " ".join(args)


def host_vars(server: Server) -> dict[str, Any]:
    """Connection and identity variables of one (already checked) server."""
    out: dict[str, Any] = {
        "ansible_host": server.host,
        "ansible_port": server.port,
        "ansible_user": server.connection_user,
    }
    if server.security_locked:
        # Only ever set to true: an inventory ``ansible_become: false`` would override
        # ``become: true`` in plays and roles (``become_user`` tasks would run as root).
        out["ansible_become"] = True
    if server.manual_key_path is not None:
        out["ansible_ssh_private_key_file"] = server.manual_key_path
    if extra := _ssh_extra_args(server):
        out["ansible_ssh_extra_args"] = extra
    out["pbdeployer_server_id"] = server.id
    out["pbdeployer_server_name"] = server.name
    return out


def inventory_data(servers: Sequence[Server]) -> dict[str, Any]:
    """The inventory as a dict: the template's shared vars plus one host per server."""
    problems = [p for i, s in enumerate(servers) for p in _problems(s, f"servers[{i}]")]
    if not servers:
        problems.append(FieldProblem(field="servers", reason="at least one server is needed"))
    if problems:
        raise InvalidInput(problems)
    hosts = {host_alias(s.id): host_vars(s) for s in servers}
    if len(hosts) != len(servers):
        raise InvalidInput.single("servers", "each server may appear only once")
    shared = dict(template()["all"].get("vars") or {})
    return {"all": {"vars": shared, "hosts": hosts}}


def render_inventory(servers: Sequence[Server]) -> str:
    """YAML inventory text; strings are ``!unsafe`` so Ansible never templates them."""
    return _HEADER + dump_untrusted_yaml(inventory_data(servers), "inventory")
