"""``--check --diff`` tells the truth: on a fresh host it exits 0 and names every change the
real run then makes, and it changes nothing itself."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from pbdeployer.testing.hosts import TestHost
from tests.integration.by_hand import ByHand, output
from tests.pocketbase import PINNED_VERSIONS, build_app_zip, pocketbase_binary

HEADER = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(?:[^\]]+ : )?(.+?)\] \*+$")
# Tasks that cannot look in check mode (the file or unit they touch comes with a package or a
# directory the check does not create) say so in a task of their own, which stands in for them.
STAND_INS = {
    "Write the user's authorized_keys into the new ~/.ssh": {"Write the user's authorized_keys"},
    "Show the firewall settings a real run applies": {"Apply the missing firewall settings"},
    "Show what a real run sets up after installing them": {
        "Write fail2ban's sshd jail", "Enable and start fail2ban", "Restart fail2ban",
        "Enable unattended-upgrades",
    },
}  # fmt: skip


def changed_tasks(stdout: str) -> set[str]:
    """The names of the tasks and handlers a run reported changed."""
    names: set[str] = set()
    current = ""
    for line in stdout.splitlines():
        header = HEADER.match(line)
        current = header.group(1) if header else current
        if line.startswith("changed: ["):
            names.add(current)
    return names


def predicted_then_made(by_hand: ByHand, playbook: str, *args: str) -> tuple[set[str], str]:
    """Run ``playbook`` with --check --diff, then for real; returns what the check predicted
    (stand-ins expanded) after asserting the real run changed nothing else."""
    check = by_hand.play(playbook, "--check", "--diff", *args)
    predicted = changed_tasks(check.stdout)
    assert predicted, output(check)
    for stand_in, covers in STAND_INS.items():
        predicted |= covers if stand_in in predicted else set()
    real = by_hand.play(playbook, *args)
    unforeseen = changed_tasks(real.stdout) - predicted
    assert not unforeseen, f"{playbook}: not predicted {unforeseen}\n{output(check)}"
    return predicted, check.stdout


@pytest.mark.host
@pytest.mark.slow
def test_check_mode_predicts_setup_lockdown_and_a_deploy_on_a_fresh_host(
    cloud_host_factory: Callable[..., TestHost], tmp_path: Path
) -> None:
    host = cloud_host_factory()
    by_hand = ByHand(tmp_path, host)

    setup, _ = predicted_then_made(by_hand, "setup.yml")
    assert {"Create the user with home and login shell", "Install the packages"} <= setup
    lockdown, diff = predicted_then_made(by_hand, "lockdown.yml")
    assert {"Write the sshd drop-in", "Apply the missing firewall settings"} <= lockdown
    assert "ufw default deny incoming" in diff
    assert "PermitRootLogin no" in diff

    zip_path = build_app_zip(tmp_path / "v1.zip", binary=pocketbase_binary(PINNED_VERSIONS[0]))
    release = by_hand.write_vars("v1.yml", {
        "app_release_name": "pocketbase-check", "app_release_port": 8098,
        "app_release_release": "v1", "app_release_zip_src": str(zip_path),
        "app_release_zip_sha256": hashlib.sha256(zip_path.read_bytes()).hexdigest(),
    })  # fmt: skip
    check = by_hand.play("deploy.yml", "--check", "--diff", "-e", release)
    switch = "Snapshot the data, switch to the release and check its health"
    assert {"Put the release on the host", switch} <= changed_tasks(check.stdout), output(check)
    assert host.ssh("test -e /opt/pocketbase/pocketbase-check", check=False).returncode == 1
    deployed = by_hand.play("deploy.yml", "-e", release)
    assert switch in changed_tasks(deployed.stdout)
    again = by_hand.play("deploy.yml", "--check", "-e", release)
    assert switch not in changed_tasks(again.stdout), output(again)
