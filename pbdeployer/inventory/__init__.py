"""Inventories rendered from Server records, and YAML that Ansible reads as plain data."""

from pbdeployer.inventory._render import (
    ALIAS_PREFIX,
    host_alias,
    host_vars,
    inventory_data,
    render_inventory,
    server_id_from_alias,
    template,
)
from pbdeployer.inventory._untrusted import (
    Unsafe,
    dump_untrusted_yaml,
    load_untrusted_yaml,
    mark_untrusted,
)

__all__ = [
    "ALIAS_PREFIX",
    "Unsafe",
    "dump_untrusted_yaml",
    "host_alias",
    "host_vars",
    "inventory_data",
    "load_untrusted_yaml",
    "mark_untrusted",
    "render_inventory",
    "server_id_from_alias",
    "template",
]
