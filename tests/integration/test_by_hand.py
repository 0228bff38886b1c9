"""The README's by-hand commands, run verbatim against a real host."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pbdeployer.testing.hosts import TestHost

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"<!-- by-hand:start -->\n```sh\n(.*?)```\n<!-- by-hand:end -->", re.S)


def readme_commands() -> list[str]:
    match = BLOCK.search((ROOT / "README.md").read_text())
    assert match, "README.md lost its by-hand block"
    return [line for line in match.group(1).splitlines() if line.strip()]


def test_the_block_holds_only_playbook_runs() -> None:
    commands = readme_commands()
    assert len(commands) >= 3
    assert all(shlex.split(c)[0] == "ansible-playbook" for c in commands)


def write_inventory(workdir: Path, host: TestHost) -> None:
    """What a person writes after copying inventory_templates/inventory.yml.

    The pool's own known_hosts file stands in for the person's ~/.ssh/known_hosts.
    """
    ssh_args = f"-o UserKnownHostsFile={host.known_hosts_path} -o StrictHostKeyChecking=yes"
    inventory = {
        "all": {
            "vars": {"ansible_python_interpreter": "/usr/bin/python3"},
            "hosts": {
                "web1": {
                    "ansible_host": host.address,
                    "ansible_port": host.port,
                    "ansible_user": "root",
                    "ansible_ssh_private_key_file": str(host.key_path),
                    "ansible_ssh_common_args": ssh_args,
                }
            },
        }
    }
    (workdir / "inventory.yml").write_text(yaml.safe_dump(inventory))


@pytest.mark.host
@pytest.mark.slow
def test_readme_commands_run_verbatim(fresh_host: TestHost, tmp_path: Path) -> None:
    for part in ("playbooks", "roles", "ansible.cfg"):
        (tmp_path / part).symlink_to(ROOT / part)
    write_inventory(tmp_path, fresh_host)
    bin_dir = Path(sys.executable).parent
    env = os.environ | {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    for command in readme_commands():
        done = subprocess.run(  # noqa: S602 - the README line, run as a person would
            command, shell=True, cwd=tmp_path, env=env,
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"{command}\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
    refused = fresh_host.ssh("true", check=False)
    assert refused.returncode == 255
    assert "passed" in done.stdout.lower() or "score" in done.stdout.lower()
