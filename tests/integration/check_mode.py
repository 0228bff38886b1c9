"""``--check --diff`` tells the truth: a check names every change the real run then makes."""

from __future__ import annotations

import re

from tests.integration.by_hand import ByHand, output

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
    # Check mode runs no command and starts no unit that is not written yet.
    "Write the network sysctls": {"Apply the network sysctls"},
    "Write the unit that loads them at boot": {
        "Enable and start the SSH connection-rate limit", "Reload pbdeployer-ssh-rate-limit",
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
