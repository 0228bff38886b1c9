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


# The audit gate (audit_fail_on_findings, audit_min_score) is checked through the installed
# collection on one host with the other by-hand runs: tests/integration/test_collection.py.
