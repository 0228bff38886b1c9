"""Running the playbooks as a person does: ansible-playbook from a directory like a checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import msgspec

from pbdeployer.testing.hosts import TestHost

ROOT = Path(__file__).resolve().parents[2]


def as_user(host: TestHost, user: str, key_path: str | None = None) -> TestHost:
    """The same host reached as another user (and key)."""
    return msgspec.structs.replace(host, user=user, key_path=key_path or host.key_path)


def assert_everyone_but_root_logs_in(host: TestHost) -> None:
    """The connecting admin and the app user log in and sudo; root is refused outright."""
    for user in ("admin", "pocketbase"):
        login = as_user(host, user).ssh("sudo -n true", check=False)
        assert login.returncode == 0, (user, login.stderr)
    root = as_user(host, "root").ssh("true", check=False)
    assert root.returncode == 255
    assert "Permission denied" in root.stderr


def inventory_from_template(host: TestHost) -> str:
    """inventory_templates/inventory.yml as a person fills it in: the example's address, port,
    user and key file replaced, every other line (comments, SSH options) kept; the pool's
    known_hosts file stands in for the person's ~/.ssh/known_hosts."""
    text = (ROOT / "inventory_templates" / "inventory.yml").read_text()
    filled = {
        'ansible_host: !unsafe "203.0.113.10"': f'ansible_host: "{host.address}"',
        "ansible_port: 22": f"ansible_port: {host.port}",
        'ansible_user: !unsafe "pocketbase"': f'ansible_user: "{host.user}"',
        'ansible_ssh_private_key_file: !unsafe "/home/me/.ssh/id_ed25519"':
            f'ansible_ssh_private_key_file: "{host.key_path}"',
    }  # fmt: skip
    for example, value in filled.items():
        assert text.count(example) == 1, f"the template lost {example!r}"
        text = text.replace(example, value)
    known = f"-o UserKnownHostsFile={host.known_hosts_path} -o StrictHostKeyChecking=yes"
    return text + f'      ansible_ssh_common_args: "{known}"\n'


class ByHand:
    """A working directory holding the checkout's playbooks, roles and ansible.cfg.

    Its inventory is what a person writes after copying inventory_templates/inventory.yml;
    the pool's own known_hosts file stands in for the person's ~/.ssh/known_hosts.
    """

    def __init__(self, workdir: Path, host: TestHost, *, checkout: bool = True) -> None:
        """``checkout=False``: an empty directory, for content installed elsewhere."""
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        for part in ("playbooks", "roles", "collections", "ansible.cfg") if checkout else ():
            (workdir / part).symlink_to(ROOT / part)
        (workdir / "inventory.yml").write_text(inventory_from_template(host))
        bin_dir = Path(sys.executable).parent
        # A person's shell: no Ansible settings but those of the working directory.
        person = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
        self.env = person | {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}

    def shell(self, command: str) -> subprocess.CompletedProcess[str]:
        """One shell line in the working directory, as typed (README lines)."""
        return subprocess.run(  # noqa: S602 - the README line, run as a person would
            command, shell=True, cwd=self.workdir, env=self.env,
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip

    def play(
        self, playbook: str, *args: str, ok: bool | None = True
    ) -> subprocess.CompletedProcess[str]:
        """Run ``ansible-playbook -i inventory.yml playbooks/<playbook> ARGS``; check its exit.

        A name without ``.yml`` is a collection's playbook (``pbdeployer.pocketbase.setup``).
        """
        target = f"playbooks/{playbook}" if playbook.endswith(".yml") else playbook
        done = subprocess.run(
            ["ansible-playbook", "-i", "inventory.yml", target, *args],
            cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=900,
            check=False,
        )  # fmt: skip
        if ok is not None:
            assert (done.returncode == 0) is ok, (
                f"{playbook} {args}: {done.returncode}\n{output(done)}"
            )
        return done

    def write_vars(self, name: str, values: dict[str, object]) -> str:
        """A vars file for ``-e @<file>`` (JSON is YAML); returns the argument."""
        (self.workdir / name).write_text(msgspec.json.encode(values).decode())
        return f"@{name}"


def output(done: subprocess.CompletedProcess[str]) -> str:
    return f"{done.stdout[-6000:]}\n{done.stderr[-2000:]}"
