"""Inventory rendering: aliases, connection users, and values that stay data."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from pbdeployer.content import content_paths
from pbdeployer.errors import InvalidInput
from pbdeployer.inventory import (
    ALIAS_PREFIX,
    Unsafe,
    host_alias,
    inventory_data,
    load_untrusted_yaml,
    render_inventory,
    server_id_from_alias,
    template,
)
from pbdeployer.models.servers import Server

HOSTILE = [
    "evil\n[evil]\nevil_host ansible_host=203.0.113.66",
    "x ansible_host=evil ansible_ssh_common_args='-o ProxyCommand=touch /tmp/pwned'",
    "{{ lookup('pipe', 'touch /tmp/pwned') }}",
    "{% raw %}\"quoted\" 'single' key: value # not a comment",
    "- [list]\n  - item: {a: b}",
    "tab\there\r\nand\x00nul \u202e unicode ✓",
]


def make_server(**changes: Any) -> Server:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    fields: dict[str, Any] = {
        "id": "01JABCDEF0123456789ABCDEFG",
        "created": now,
        "updated": now,
        "name": "web-1",
        "host": "10.200.0.11",
        "port": 22,
        "root_username": "root",
        "app_username": "pocketbase",
        "use_ssh_agent": False,
        "manual_key_path": "/keys/id_ed25519",
        "setup_complete": False,
        "security_locked": False,
    }
    fields.update(changes)
    return Server(**fields)


def rendered_hosts(servers: list[Server]) -> dict[str, Any]:
    data = load_untrusted_yaml(render_inventory(servers))
    hosts: dict[str, Any] = data["all"]["hosts"]
    return hosts


def test_renders_alias_and_connection_vars() -> None:
    server = make_server()
    hosts = rendered_hosts([server])
    assert list(hosts) == ["srv_01JABCDEF0123456789ABCDEFG"]
    assert hosts["srv_01JABCDEF0123456789ABCDEFG"] == {
        "ansible_host": "10.200.0.11",
        "ansible_port": 22,
        "ansible_user": "root",
        "ansible_ssh_private_key_file": "/keys/id_ed25519",
        "ansible_ssh_extra_args": "-o IdentitiesOnly=yes -o IdentityAgent=none",
        "pbdeployer_server_id": "01JABCDEF0123456789ABCDEFG",
        "pbdeployer_server_name": "web-1",
    }


def test_every_string_is_tagged_unsafe() -> None:
    text = render_inventory([make_server()])
    values = load_untrusted_yaml(text)["all"]["hosts"][host_alias(make_server().id)]
    strings = [v for v in values.values() if isinstance(v, str)]
    assert strings
    assert all(isinstance(v, Unsafe) for v in strings)
    assert '!unsafe "web-1"' in text


def test_locked_server_connects_as_app_user_with_become() -> None:
    host = rendered_hosts([make_server(security_locked=True)])[host_alias(make_server().id)]
    assert host["ansible_user"] == "pocketbase"
    assert host["ansible_become"] is True


def test_root_connection_leaves_become_to_the_plays() -> None:
    host = rendered_hosts([make_server()])[host_alias(make_server().id)]
    assert host["ansible_user"] == "root"
    assert "ansible_become" not in host


def test_agent_server_without_key_file() -> None:
    server = make_server(use_ssh_agent=True, manual_key_path=None)
    host = rendered_hosts([server])[host_alias(server.id)]
    assert "ansible_ssh_private_key_file" not in host
    assert "ansible_ssh_extra_args" not in host


def test_shared_vars_come_from_the_template() -> None:
    data = load_untrusted_yaml(render_inventory([make_server()]))
    assert data["all"]["vars"] == template()["all"]["vars"]
    assert data["all"]["vars"]["ansible_python_interpreter"] == "/usr/bin/python3"


def test_template_example_shows_every_key_the_renderer_emits() -> None:
    example = template()["all"]["hosts"]["srv_example"]
    full = make_server(security_locked=True)
    assert set(inventory_data([full])["all"]["hosts"][host_alias(full.id)]) == set(example)


def test_several_servers_each_get_their_alias() -> None:
    servers = [make_server(id=f"01SERVER{i}", host=f"10.200.0.{20 + i}") for i in range(3)]
    hosts = rendered_hosts(servers)
    assert list(hosts) == ["srv_01SERVER0", "srv_01SERVER1", "srv_01SERVER2"]
    assert [h["ansible_host"] for h in hosts.values()] == [
        "10.200.0.20",
        "10.200.0.21",
        "10.200.0.22",
    ]


def test_duplicate_server_is_refused() -> None:
    with pytest.raises(InvalidInput, match="only once"):
        render_inventory([make_server(), make_server()])


def test_no_servers_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        render_inventory([])
    assert [p.field for p in caught.value.details] == ["servers"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_name_is_kept_verbatim_as_one_value(name: str) -> None:
    server = make_server(name=name)
    hosts = rendered_hosts([server])
    assert list(hosts) == [host_alias(server.id)]
    assert hosts[host_alias(server.id)]["pbdeployer_server_name"] == name
    assert hosts[host_alias(server.id)]["ansible_host"] == "10.200.0.11"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("host", "-oProxyCommand=touch /tmp/pwned"),
        ("host", "10.200.0.11 ansible_user=evil"),
        ("host", "evil\n[evil]"),
        ("host", "{{ lookup('pipe', 'id') }}"),
        ("host", ""),
        ("root_username", "root ansible_host=evil"),
        ("root_username", "Root"),
        ("app_username", "pb\nevil"),
        ("port", 0),
        ("port", 70000),
        ("manual_key_path", "relative/key"),
        ("manual_key_path", '/keys/a" -o ProxyCommand="touch /tmp/pwned'),
        ("manual_key_path", "/keys/a\nb"),
        ("id", "../../etc"),
        ("id", "01 X"),
    ],
)
def test_bad_connection_values_are_refused(field: str, value: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        render_inventory([make_server(**{field: value})])
    assert f"servers[0].{field}" in [p.field for p in caught.value.details]


def test_every_problem_is_reported_at_once() -> None:
    server = make_server(host="bad host", port=0, root_username="X")
    with pytest.raises(InvalidInput) as caught:
        render_inventory([make_server(), msgspec.structs.replace(server, id="01OTHER")])
    fields = {p.field for p in caught.value.details}
    assert fields == {"servers[1].host", "servers[1].port", "servers[1].root_username"}


def test_ipv6_and_dns_names_are_accepted() -> None:
    servers = [make_server(id="01A", host="2001:db8::1"), make_server(id="01B", host="web.example")]
    assert [h["ansible_host"] for h in rendered_hosts(servers).values()] == [
        "2001:db8::1",
        "web.example",
    ]


def test_alias_round_trip() -> None:
    assert host_alias("01ABC") == f"{ALIAS_PREFIX}01ABC"
    assert server_id_from_alias(host_alias("01ABC")) == "01ABC"
    assert server_id_from_alias("01ABC") is None
    assert server_id_from_alias("srv_../x") is None
    with pytest.raises(InvalidInput):
        host_alias("a b")


def test_ansible_reads_exactly_the_hosts_and_values_rendered(tmp_path: Path) -> None:
    """Ansible's own inventory parser sees one host per server and the hostile text as data."""
    servers = [make_server(id=f"01HOSTILE{i}", name=name) for i, name in enumerate(HOSTILE)]
    path = tmp_path / "hosts.yml"
    path.write_text(render_inventory(servers), encoding="utf-8")
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\n", encoding="utf-8")
    listed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(path), "--list"],
        capture_output=True, text=True, check=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "ANSIBLE_CONFIG": str(config), "HOME": str(tmp_path)},
    )  # fmt: skip
    inventory = json.loads(listed.stdout)
    assert sorted(inventory["all"]["children"]) == ["ungrouped"]
    assert sorted(inventory["ungrouped"]["hosts"]) == sorted(host_alias(s.id) for s in servers)
    hostvars = inventory["_meta"]["hostvars"]
    assert set(hostvars) == {host_alias(s.id) for s in servers}
    for server in servers:
        values = hostvars[host_alias(server.id)]
        # ansible-inventory shows untrusted strings in this wrapped form.
        assert values["pbdeployer_server_name"] == {"__ansible_unsafe": server.name}
        assert values["ansible_host"] == {"__ansible_unsafe": "10.200.0.11"}
        assert values["ansible_user"] == {"__ansible_unsafe": "root"}
        assert values["ansible_port"] == 22
        assert "ansible_ssh_common_args" not in values


def test_template_example_is_the_server_its_comment_describes() -> None:
    """The comment calls the example a server with a key file and no agent: its options are
    exactly what the renderer writes for one, and the comment names both options' causes."""
    example = template()["all"]["hosts"]["srv_example"]
    keyed = make_server(manual_key_path="/home/me/.ssh/id_ed25519", use_ssh_agent=False)
    rendered = inventory_data([keyed])["all"]["hosts"][host_alias(keyed.id)]
    assert str(example["ansible_ssh_extra_args"]) == rendered["ansible_ssh_extra_args"]
    text = (content_paths().inventory_templates / "inventory.yml").read_text()
    comment = " ".join(
        line.strip(" #") for line in text.splitlines() if line.strip().startswith("#")
    )
    assert "a server with a key file and no agent" in comment
    assert "`IdentityAgent=none` unless the server uses the ssh-agent (use_ssh_agent)" in comment
    assert "`IdentitiesOnly=yes` when there is a key file" in comment
