"""Hostile text in every user-provided field passes through a real run as inert data.

Each value carries a Jinja lookup that would create a marker file on the controller if Ansible
templated it, shell syntax that would create one on the host if a shell read it, and text that
would add hosts or variables if it were spliced into an inventory.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pbdeployer.models.ids import new_id
from pbdeployer.models.run import PlaybookInvocation, RunEvent, TaskOk
from pbdeployer.models.servers import Server
from pbdeployer.runner import RunHandle, Runner
from pbdeployer.settings import Settings
from pbdeployer.testing.hosts import TestHost

pytestmark = pytest.mark.host

ECHO = Path(__file__).resolve().parents[1] / "playbooks" / "echo-vars.yml"


def markers() -> tuple[Path, Path]:
    token = uuid.uuid4().hex
    return Path(f"/tmp/pbd-pwned-jinja-{token}"), Path(f"/tmp/pbd-pwned-shell-{token}")


def hostile(jinja_marker: Path, shell_marker: Path) -> list[str]:
    lookup = f"{{{{ lookup('pipe', 'touch {jinja_marker}') }}}}"
    return [
        lookup,
        f"{{% set x = lookup('pipe', 'touch {jinja_marker}') %}}{{{{ x }}}}",
        f"$(touch {shell_marker}); `touch {shell_marker}`; touch {shell_marker}",
        f"x\n[evil]\nevil ansible_host=10.200.0.1 {lookup}",
        f"ansible_host=evil ansible_ssh_common_args='-o ProxyCommand=touch {shell_marker}'",
        "quotes \" ' and `: ` then key: value # and {{ 7 * 7 }} {% raw %}",
        "- [list]\n  - {a: b}\n...\n---\n",
    ]


def exists(path: Path) -> bool:
    return path.exists()


async def collect(handle: RunHandle) -> list[RunEvent]:
    return [event async for event in handle.events()]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def server_for(host: TestHost, name: str) -> Server:
    now = datetime.now(UTC)
    return Server(
        id=new_id(), created=now, updated=now, name=name, host=host.address, port=host.port,
        root_username=host.user, app_username="pocketbase", use_ssh_agent=False,
        manual_key_path=host.key_path, setup_complete=False, security_locked=False,
    )  # fmt: skip


def host_has(host: TestHost, path: Path) -> bool:
    return host.ssh(["test", "-e", str(path)], check=False).returncode == 0


async def test_hostile_values_are_inert_on_controller_and_host(
    shared_host: TestHost, settings: Settings
) -> None:
    jinja_marker, shell_marker = markers()
    texts = hostile(jinja_marker, shell_marker)
    values: dict[str, Any] = {
        "app_name": texts[0],
        "notes": "\n".join(texts),
        "domain": texts[1],
        "each": texts,
        "nested": {texts[0]: texts[3], texts[4]: {"deeper": texts[6]}},
    }
    server = server_for(shared_host, name=texts[3] + texts[2])
    dest = f"/tmp/pbd-echo-{uuid.uuid4().hex}.json"
    invocation = PlaybookInvocation(
        playbook=str(ECHO), extravars={"echo_vars": values, "echo_dest": dest}
    )
    handle = Runner(settings).start(invocation, [server])
    events = await collect(handle)
    result = await handle.result()

    # One host, as rendered: nothing in a name added hosts or changed where the run went.
    assert list(result.stats) == [f"srv_{server.id}"]
    read_back = [e for e in events if isinstance(e, TaskOk) and e.task == "Read the file back"]
    assert read_back[0].host == f"srv_{server.id}"
    assert read_back[0].result.stdout is not None
    echoed = json.loads(read_back[0].result.stdout)
    assert echoed == {"vars": values, "server_name": server.name}
    # The file on the host holds the same text, byte for byte.
    on_host = shared_host.ssh(["cat", dest]).stdout
    assert json.loads(on_host) == echoed
    for marker in (jinja_marker, shell_marker):
        assert not exists(marker), f"{marker} appeared on the controller"
        assert not host_has(shared_host, marker), f"{marker} appeared on the host"


async def test_hostile_server_name_alone(shared_host: TestHost, settings: Settings) -> None:
    """The inventory's only free text is the server name; it must not need the extravars."""
    jinja_marker, shell_marker = markers()
    name = "\n".join(hostile(jinja_marker, shell_marker))
    server = server_for(shared_host, name=name)
    dest = f"/tmp/pbd-echo-{uuid.uuid4().hex}.json"
    invocation = PlaybookInvocation(
        playbook=str(ECHO), extravars={"echo_vars": {}, "echo_dest": dest}
    )
    result = await Runner(settings).start(invocation, [server]).result()
    assert list(result.stats) == [f"srv_{server.id}"]
    assert json.loads(shared_host.ssh(["cat", dest]).stdout)["server_name"] == name
    for marker in (jinja_marker, shell_marker):
        assert not exists(marker)
        assert not host_has(shared_host, marker)
