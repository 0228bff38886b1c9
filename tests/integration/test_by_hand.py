"""The README's by-hand commands, run verbatim against real hosts prepared like cloud images."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from pbdeployer.testing.hosts import TestHost
from tests.integration.by_hand import ROOT, ByHand, assert_everyone_but_root_logs_in, output

BLOCK = re.compile(r"<!-- by-hand:start -->\n```sh\n(.*?)```\n<!-- by-hand:end -->", re.S)


def readme_commands() -> list[str]:
    match = BLOCK.search((ROOT / "README.md").read_text())
    assert match, "README.md lost its by-hand block"
    return [line for line in match.group(1).splitlines() if line.strip()]


def test_the_block_holds_only_playbook_runs() -> None:
    commands = readme_commands()
    assert len(commands) >= 3
    assert all(shlex.split(c)[0] == "ansible-playbook" for c in commands)


@pytest.mark.host
@pytest.mark.slow
@pytest.mark.parametrize("distro", ["bookworm", "trixie"])
def test_readme_commands_run_verbatim_and_again_after_lockdown(
    cloud_host_factory: Callable[..., TestHost], tmp_path: Path, distro: str
) -> None:
    host = cloud_host_factory(distro=distro)
    by_hand = ByHand(tmp_path, host)
    for round_ in ("first", "again"):
        for command in readme_commands():
            done = by_hand.shell(command)
            assert done.returncode == 0, f"{round_}: {command}\n{output(done)}"
        assert "score" in done.stdout.lower(), output(done)
        assert_everyone_but_root_logs_in(host)
    keys = host.ssh("sudo cat /home/pocketbase/.ssh/authorized_keys").stdout
    assert "command=" not in keys
    assert "Currently banned:\t0" in host.ssh("sudo fail2ban-client status sshd").stdout


@pytest.mark.host
@pytest.mark.slow
def test_audit_gates_a_pipeline_only_when_asked(
    cloud_host_factory: Callable[..., TestHost], tmp_path: Path
) -> None:
    by_hand = ByHand(tmp_path, cloud_host_factory())
    report = by_hand.play("audit.yml")
    assert "ssh.permit_root_login" in report.stdout
    assert "-> playbooks/lockdown.yml" in report.stdout

    gated = by_hand.play("audit.yml", "-e", "audit_fail_on_findings=true", ok=False)
    assert "audit gate: score" in gated.stdout, output(gated)
    below = by_hand.play("audit.yml", "-e", "audit_min_score=100", ok=False)
    assert "(minimum 100)" in below.stdout
