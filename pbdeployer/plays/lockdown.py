"""Lockdown: harden sshd, firewall, fail2ban and updates without locking the app user out."""

from __future__ import annotations

from collections.abc import Sequence

from pbdeployer.models import Server
from pbdeployer.models.run import PlaybookInvocation
from pbdeployer.plays.role_vars import LockdownVars


def lockdown(server: Server, extra_ports: Sequence[int] = ()) -> PlaybookInvocation:
    """Prove the app user's login with the same key (or agent) the server record names."""
    variables = LockdownVars(
        lockdown_app_user=server.app_username,
        lockdown_app_user_key_file=server.manual_key_path or "",
        lockdown_ssh_port=server.port,
        lockdown_extra_ports=list(extra_ports),
    )
    return PlaybookInvocation(playbook="lockdown.yml", extravars=variables.extravars())
