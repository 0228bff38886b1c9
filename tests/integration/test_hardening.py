"""Lockdown judged by the auditors people already trust, and each of its switches off and on.

One host per suite carries the whole sequence (setup, lockdown with switches off, with the
optional settings inverted, then with defaults), so the checks cost one host each.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from pbdeployer.testing.hosts import HostPool, TestHost
from tests.integration.by_hand import ByHand, as_user, output

pytestmark = [pytest.mark.host, pytest.mark.slow]

SSH_AUDIT = str(Path(sys.executable).with_name("ssh-audit"))
ALL_OFF = {
    "lockdown_sshd": False,
    "lockdown_firewall": False,
    "lockdown_fail2ban": False,
    "lockdown_unattended_upgrades": False,
    "lockdown_ssh_rate_limit": 0,
    "lockdown_sysctl": False,
    "lockdown_file_modes": False,
    "lockdown_umask": "",
    "lockdown_core_dumps_off": False,
    "lockdown_blacklisted_protocols": [],
}
OS_DEFAULTS = ["sysctl", "home=750", "sshd_config=600", "umask=027", "core", "protocols"]
INVERTED = {
    "lockdown_sshd_crypto": False,
    "lockdown_sshd_forwarding": True,
    "lockdown_sshd_client_alive_interval": 0,
    "lockdown_sshd_login_grace_time": 0,
    "lockdown_sshd_log_level": "",
    "lockdown_sshd_compression": True,
    "lockdown_sshd_per_source_max_startups": 0,
    "lockdown_ssh_rate_limit": 0,
}
HARDENED = {
    "allowtcpforwarding no",
    "allowagentforwarding no",
    "allowstreamlocalforwarding no",
    "clientaliveinterval 300",
    "logingracetime 30",
    "loglevel VERBOSE",
    "compression no",
    "persourcemaxstartups 10",
}


def sshd_settings(host: TestHost) -> set[str]:
    return set(host.ssh("sudo /usr/sbin/sshd -T").stdout.splitlines())


def state(host: TestHost) -> str:
    """What the optional parts leave behind: drop-in, ufw, fail2ban, upgrades, rate table."""
    script = (
        "test -e /etc/ssh/sshd_config.d/10-pbdeployer.conf && echo drop-in; "
        "sudo ufw status 2>/dev/null | grep -q '^Status: active' && echo ufw; "
        "systemctl is-active -q fail2ban && echo fail2ban; "
        "test -e /etc/apt/apt.conf.d/20auto-upgrades && echo upgrades; "
        "sudo nft list table inet pbdeployer_ssh >/dev/null 2>&1 && echo rate-limit; "
        'test "$(cat /proc/sys/net/ipv4/conf/all/log_martians)" = 1 && echo sysctl; '
        "echo home=$(stat -c %a /home/pocketbase) sshd_config=$(stat -c %a /etc/ssh/sshd_config); "
        "echo umask=$(awk '$1 == \"UMASK\" {print $2}' /etc/login.defs); "
        "grep -qs 'hard core 0' /etc/security/limits.d/*.conf && echo core; "
        "grep -qs 'install dccp /bin/true' /etc/modprobe.d/*.conf && echo protocols; true"
    )
    return host.ssh(script).stdout


def forwards(host: TestHost) -> str:
    """A login asking sshd to forward to its own port 22: sshd's banner when forwarding is on."""
    argv = host.ssh_argv()
    argv[argv.index("--") : argv.index("--") + 1] = ["-W", "127.0.0.1:22"]
    try:
        done = subprocess.run(argv, input=b"", capture_output=True, timeout=10, check=False)
    except subprocess.TimeoutExpired as waited:
        return (waited.stdout or b"").decode(errors="replace")
    return (done.stdout + done.stderr).decode(errors="replace")


def ssh_audit(host: TestHost) -> dict[str, list[str]]:
    """ssh-audit from the controller: the algorithms it fails or warns about, CVEs, notes."""
    done = subprocess.run(
        [SSH_AUDIT, "-j", "-p", str(host.port), host.address],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    report = json.loads(done.stdout)
    found: dict[str, list[str]] = {"fail": [], "warn": []}
    for part in ("kex", "key", "enc", "mac"):
        for algorithm in report[part]:
            for level in ("fail", "warn"):
                found[level] += [
                    f"{algorithm['algorithm']}: {n}" for n in algorithm["notes"].get(level, [])
                ]
    found["cves"] = [cve["name"] for cve in report["cves"]]
    found["notes"] = report["additional_notes"]
    return found


def in_dir(workdir: Path, host: TestHost) -> ByHand:
    workdir.mkdir()
    return ByHand(workdir, host)


def prove_switches(host: TestHost, tmp_path: Path) -> None:
    """Everything off changes nothing; the optional sshd settings inverted are sshd's defaults."""
    by_hand = in_dir(tmp_path / "root", host)
    by_hand.play("user.yml")
    app = as_user(host, "pocketbase")
    before = state(app)
    by_hand.play("lockdown.yml", "-e", by_hand.write_vars("off.json", ALL_OFF))
    assert state(app) == before
    assert as_user(host, "root").ssh("true", check=False).returncode == 0

    by_hand.play("lockdown.yml", "-e", by_hand.write_vars("inverted.json", INVERTED))
    settings = sshd_settings(app)
    assert {
        "allowtcpforwarding yes", "compression yes", "loglevel INFO", "clientaliveinterval 0",
        "logingracetime 120", "persourcemaxstartups none",
    } <= settings  # fmt: skip
    assert "ecdh-sha2-nistp256" in next(s for s in settings if s.startswith("kexalgorithms "))
    assert state(app).split() == ["drop-in", "ufw", "fail2ban", "upgrades", *OS_DEFAULTS]
    assert forwards(app).startswith("SSH-")


def refuses_a_controller_that_pinned_only_ecdsa(host: TestHost, tmp_path: Path) -> None:
    """The login proof offers the hardened host-key algorithms: an ECDSA-only pin stops it."""
    known = tmp_path / "ecdsa_known_hosts"
    (ecdsa,) = [key for key in host.host_public_keys if key.startswith("ecdsa-")]
    known.write_text(f"{host.address} {ecdsa}\n")
    pinned = msgspec.structs.replace(as_user(host, "pocketbase"), known_hosts_path=str(known))

    refused = in_dir(tmp_path / "ecdsa", pinned).play("lockdown.yml", ok=False)

    assert "could not log in with its key and run sudo; nothing was changed" in refused.stdout
    assert "exited 255 (ssh itself failed)" in refused.stdout, output(refused)
    assert (
        "ecdh-sha2-nistp256"
        in as_user(host, "pocketbase").ssh("sudo /usr/sbin/sshd -T | grep ^kexalgorithms").stdout
    )


def names_a_missing_include_and_applies_the_rest(app: TestHost, by_hand: ByHand) -> None:
    """sshd_config without the Include (as another hardening leaves it): named, rest applied."""
    app.ssh(
        "sudo sed -i 's/^Include/#Include/' /etc/ssh/sshd_config && sudo ufw --force disable"
        " && sudo systemctl mask apt-daily-upgrade.timer"
    )
    stopped = by_hand.play("lockdown.yml", ok=False)
    assert '/etc/ssh/sshd_config has no \\"Include /etc/ssh/sshd_config.d/*.conf\\"' in (
        stopped.stdout
    ), output(stopped)
    assert "an earlier line" not in stopped.stdout
    assert "ufw" in state(app).split()
    assert app.ssh("systemctl is-enabled apt-daily-upgrade.timer").stdout.strip() == "enabled"

    by_hand.play("lockdown.yml", "-e", "lockdown_sshd_add_include=true")
    assert app.ssh("sudo head -1 /etc/ssh/sshd_config").stdout == (
        "Include /etc/ssh/sshd_config.d/*.conf\n"
    )
    assert sshd_settings(app) >= HARDENED


@pytest.mark.parametrize("distro", ["bookworm", "trixie"])
def test_lockdown_passes_ssh_audit_and_each_switch_works(
    host_pool: HostPool, tmp_path: Path, distro: str
) -> None:
    host = host_pool.create(distro=distro)
    try:
        if distro == "bookworm":
            prove_switches(host, tmp_path)
            refuses_a_controller_that_pinned_only_ecdsa(host, tmp_path)
        else:
            in_dir(tmp_path / "root", host).play("user.yml")
        app = as_user(host, "pocketbase")
        by_hand = in_dir(tmp_path / "app", app)
        done = by_hand.play("lockdown.yml")
        assert "changed=0" not in done.stdout, output(done)

        assert sshd_settings(app) >= HARDENED
        assert state(app).split() == [
            "drop-in", "ufw", "fail2ban", "upgrades", "rate-limit", *OS_DEFAULTS
        ]  # fmt: skip
        assert forwards(app) == "stdio forwarding failed\r\n"
        audit = ssh_audit(host)
        assert audit["fail"] == [], audit
        assert len(audit["warn"]) <= 2, audit
        assert audit["cves"] == [], audit
        assert not [note for note in audit["notes"] if "DHEat" in note], audit["notes"]
        root = as_user(host, "root").ssh("true", check=False)
        assert root.returncode == 255
        if distro == "bookworm":
            names_a_missing_include_and_applies_the_rest(app, by_hand)
    finally:
        host_pool.destroy(host)
