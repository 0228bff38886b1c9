"""The Ansible collection as a person takes it away: built, installed into an empty directory,
and its playbooks run by their full names from a directory outside the checkout, each first
with ``--check --diff`` on the fresh host to see that the check predicts the real run."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from pbdeployer.testing.hosts import TestHost
from tests.integration.by_hand import ROOT, ByHand, assert_everyone_but_root_logs_in, output
from tests.integration.check_mode import changed_tasks, predicted_then_made
from tests.pocketbase import PINNED_VERSIONS, build_app_zip, pocketbase_binary

COLLECTION = "pbdeployer.pocketbase"


BLOCK = re.compile(r"<!-- collection:start -->\n```sh\n(.*?)```\n<!-- collection:end -->", re.S)


def readme_commands() -> list[str]:
    match = BLOCK.search((ROOT / "README.md").read_text())
    assert match, "README.md lost its collection block"
    return [line for line in match.group(1).splitlines() if line.strip()]


def test_the_block_builds_and_installs_this_version() -> None:
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    build, install = readme_commands()
    assert shlex.split(build)[:3] == ["ansible-galaxy", "collection", "build"]
    assert install.endswith(f"dist/pbdeployer-pocketbase-{version}.tar.gz")


def build_and_install(tmp_path: Path) -> Path:
    """The README's commands run verbatim in the checkout, installing into an empty directory
    (the first entry of ANSIBLE_COLLECTIONS_PATH); returns that directory."""
    installed = tmp_path / "installed"
    installed.mkdir()
    bin_dir = Path(sys.executable).parent
    env = os.environ | {
        "ANSIBLE_COLLECTIONS_PATH": str(installed),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    for command in readme_commands():
        done = subprocess.run(
            shlex.split(command),
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"{command}\n{output(done)}"
    for tarball in (ROOT / "dist").glob("pbdeployer-pocketbase-*.tar.gz"):
        tarball.unlink()
    root = installed / "ansible_collections" / "pbdeployer" / "pocketbase"
    assert not root.is_symlink()
    assert (root / "plugins" / "modules" / "release.py").is_file()
    assert not (root / "pbdeployer").exists()
    assert not (root / "tests").exists()
    return installed


APP = {"app_release_name": "pocketbase-coll", "app_release_port": 8097}
SWITCH = "Snapshot the data, switch to the release and check its health"
BROKEN = b"#!/bin/sh\necho 'this release is broken' >&2\nexit 1\n"


def release_vars(by_hand: ByHand, tmp_path: Path, release: str, binary: Path | bytes) -> str:
    zip_path = build_app_zip(tmp_path / f"{release}.zip", binary=binary)
    sha256 = hashlib.sha256(zip_path.read_bytes()).hexdigest()
    given = {"app_release_release": release, "app_release_zip_src": str(zip_path)}
    return by_hand.write_vars(f"{release}.yml", APP | given | {"app_release_zip_sha256": sha256})


def live(host: TestHost) -> list[str]:
    """The release ``current`` points at, and what /api/health answers."""
    return host.ssh(
        "readlink /opt/pocketbase/pocketbase-coll/current; "
        "curl -sS -o /dev/null -w '%{http_code}' http://127.0.0.1:8097/api/health"
    ).stdout.split()


def audit_gates(by_hand: ByHand) -> None:
    """Before lockdown: the findings name the playbook that fixes them, and gate on request."""
    report = by_hand.play(f"{COLLECTION}.audit")
    assert "ssh.permit_root_login" in report.stdout
    assert "-> playbooks/lockdown.yml" in report.stdout
    gated = by_hand.play(f"{COLLECTION}.audit", "-e", "audit_fail_on_findings=true", ok=False)
    assert "audit gate: score" in gated.stdout, output(gated)
    below = by_hand.play(f"{COLLECTION}.audit", "-e", "audit_min_score=100", ok=False)
    assert "(minimum 100)" in below.stdout


def deploys_and_rolls_back(by_hand: ByHand, host: TestHost, tmp_path: Path) -> None:
    """A broken release fails the play after its rollback; a rollback by hand needs no sha256."""
    v1 = release_vars(by_hand, tmp_path, "v1", pocketbase_binary(PINNED_VERSIONS[0]))
    check = by_hand.play(f"{COLLECTION}.deploy", "--check", "--diff", "-e", v1)
    assert {"Put the release on the host", SWITCH} <= changed_tasks(check.stdout), output(check)
    assert host.ssh("test -e /opt/pocketbase/pocketbase-coll", check=False).returncode == 1
    deploy = by_hand.play(f"{COLLECTION}.deploy", "-e", v1)
    assert str(ROOT) not in deploy.stdout
    assert SWITCH in changed_tasks(deploy.stdout)
    assert live(host) == ["releases/v1", "200"], output(deploy)
    again = by_hand.play(f"{COLLECTION}.deploy", "--check", "-e", v1)
    assert SWITCH not in changed_tasks(again.stdout), output(again)

    broken = release_vars(by_hand, tmp_path, "broken", BROKEN)
    failed = by_hand.play(f"{COLLECTION}.deploy", "-e", broken, ok=False)
    assert "back on v1" in failed.stdout, output(failed)
    assert "the app exited with status 1" in failed.stdout, output(failed)
    assert live(host) == ["releases/v1", "200"]

    v2 = pocketbase_binary(PINNED_VERSIONS[1])
    by_hand.play(f"{COLLECTION}.deploy", "-e", release_vars(by_hand, tmp_path, "v2", v2))
    assert live(host) == ["releases/v2", "200"]
    app = by_hand.write_vars("app.yml", APP)
    back = by_hand.play(f"{COLLECTION}.rollback", "-e", app, "-e", "app_release_release=v1")
    assert live(host) == ["releases/v1", "200"], output(back)


def reads_the_service(by_hand: ByHand) -> None:
    """Status and logs show what they read in the default output."""
    unit = ("-e", "service_name=pocketbase-coll")
    status = by_hand.play(f"{COLLECTION}.service", *unit, "-e", "service_read=status")
    assert "ActiveState=active" in status.stdout, output(status)
    logs = by_hand.play(f"{COLLECTION}.service", *unit, "-e", "service_read=logs")
    assert "Server started at http://127.0.0.1:8097" in logs.stdout, output(logs)


@pytest.mark.host
@pytest.mark.slow
def test_the_installed_collection_checks_sets_up_locks_down_audits_and_deploys(
    cloud_host_factory: Callable[..., TestHost], tmp_path: Path
) -> None:
    installed = build_and_install(tmp_path)
    host = cloud_host_factory()
    by_hand = ByHand(tmp_path / "elsewhere", host, checkout=False)
    by_hand.env["ANSIBLE_COLLECTIONS_PATH"] = str(installed)
    assert not (by_hand.workdir / "ansible.cfg").exists()

    setup, _ = predicted_then_made(by_hand, f"{COLLECTION}.setup")
    assert {"Create the user with home and login shell", "Install the packages"} <= setup
    audit_gates(by_hand)
    lockdown, diff = predicted_then_made(by_hand, f"{COLLECTION}.lockdown")
    assert {"Write the sshd drop-in", "Apply the missing firewall settings"} <= lockdown
    assert "ufw default deny incoming" in diff
    assert "PermitRootLogin no" in diff
    assert_everyone_but_root_logs_in(host)
    audit = by_hand.play(f"{COLLECTION}.audit")
    assert "score" in audit.stdout.lower(), output(audit)
    assert str(ROOT) not in audit.stdout
    deploys_and_rolls_back(by_hand, host, tmp_path)
    reads_the_service(by_hand)
