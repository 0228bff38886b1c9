# ruff: noqa: E501 - captured sshd -T and ssh -vv lines are kept exactly as printed
"""The audit role's module: parsing and judging of real command output, without a host.

The outputs below were captured on the project's Debian 12 test hosts: "fresh" as setup leaves
a host (packages and app user, no lockdown), "locked" after the lockdown role, "mixed" with
extra ufw rules and a few listeners. Long outputs are cut to the lines that matter, verbatim.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

MODULE_PATH = Path(__file__).parents[3] / "plugins" / "modules" / "audit.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pbdeployer_audit", MODULE_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


audit = _load()

SSHD_T_FRESH = """\
kexalgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256
hostkeyalgorithms ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256
macs umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1
allowtcpforwarding yes
allowagentforwarding yes
port 22
addressfamily any
listenaddress [::]:22
listenaddress 0.0.0.0:22
usepam yes
maxauthtries 6
permitrootlogin without-password
pubkeyauthentication yes
passwordauthentication yes
kbdinteractiveauthentication no
x11forwarding yes
authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2
"""

SSHD_T_LOCKED = """\
port 22
addressfamily any
listenaddress [::]:22
listenaddress 0.0.0.0:22
usepam yes
maxauthtries 3
permitrootlogin no
pubkeyauthentication yes
passwordauthentication no
kbdinteractiveauthentication no
x11forwarding no
allowtcpforwarding no
allowagentforwarding no
authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2
allowusers pocketbase
"""

UFW_INACTIVE = "Status: inactive\n"

UFW_LOCKED = """\
Status: active
Logging: on (low)
Default: deny (incoming), allow (outgoing), disabled (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
22/tcp                     ALLOW IN    Anywhere                  
80/tcp                     ALLOW IN    Anywhere                  
443/tcp                    ALLOW IN    Anywhere                  
22/tcp (v6)                ALLOW IN    Anywhere (v6)             
80/tcp (v6)                ALLOW IN    Anywhere (v6)             
443/tcp (v6)               ALLOW IN    Anywhere (v6)             

"""  # noqa: W291 (ufw pads its columns)

UFW_MIXED = """\
Status: active
Logging: on (low)
Default: deny (incoming), allow (outgoing), disabled (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
22/tcp                     ALLOW IN    Anywhere                  
8090                       ALLOW IN    Anywhere                  
6000:6007/tcp              ALLOW IN    Anywhere                  
2222/tcp                   LIMIT IN    Anywhere                  
Anywhere                   ALLOW IN    10.0.0.0/8                
53/udp                     ALLOW IN    Anywhere                  
22/tcp (v6)                ALLOW IN    Anywhere (v6)             
8090 (v6)                  ALLOW IN    Anywhere (v6)             
6000:6007/tcp (v6)         ALLOW IN    Anywhere (v6)             
2222/tcp (v6)              LIMIT IN    Anywhere (v6)             
53/udp (v6)                ALLOW IN    Anywhere (v6)             

"""  # noqa: W291

SS_LOCKED = """\
LISTEN 0      128    0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=35,fd=3))
LISTEN 0      128       [::]:22    [::]:* users:(("sshd",pid=35,fd=4))
"""

SS_MIXED = """\
LISTEN 0      128      0.0.0.0:22   0.0.0.0:* users:(("sshd",pid=35,fd=3))     
LISTEN 0      5      127.0.0.1:8091 0.0.0.0:* users:(("python3",pid=1323,fd=3))
LISTEN 0      5        0.0.0.0:9000 0.0.0.0:* users:(("python3",pid=1321,fd=3))
LISTEN 0      5          [::1]:6001    [::]:* users:(("python3",pid=1325,fd=3))
LISTEN 0      128         [::]:22      [::]:* users:(("sshd",pid=35,fd=4))     
"""  # noqa: W291

FAIL2BAN_RUNNING = """\
Status for the jail: sshd
|- Filter
|  |- Currently failed:\t0
|  |- Total failed:\t0
|  `- Journal matches:\t_SYSTEMD_UNIT=sshd.service + _COMM=sshd
`- Actions
   |- Currently banned:\t0
   |- Total banned:\t0
   `- Banned IP list:\t
"""

FAIL2BAN_DOWN = (
    "2026-11-25 07:36:23,638 fail2ban                [1073]: ERROR   Failed to access socket"
    " path: /var/run/fail2ban/fail2ban.sock. Is fail2ban running?\n"
)

PASSWD_LOCKED = "pocketbase L 2026-11-25 0 99999 7 -1\n"

SUDO_ALLOWED = """\
Matching Defaults entries for pocketbase on lkdev:
    env_reset, mail_badpass, secure_path=/usr/local/sbin\\:/usr/local/bin\\:/usr/sbin\\:/usr/bin\\:/sbin\\:/bin, use_pty

User pocketbase may run the following commands on lkdev:
    (ALL) NOPASSWD: ALL
"""

SUDO_DENIED = "User pocketbase is not allowed to run sudo on aufresh.\n"

APT_CONFIG = """\
APT "";
APT::Architecture "amd64";
APT::Install-Recommends "1";
APT::Periodic "";
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
APT::Architectures "";
"""

APT_SIMULATE_NOTHING = """\
Reading package lists...
Building dependency tree...
Reading state information...
Calculating upgrade...
0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.
"""

APT_SIMULATE_SECURITY = """\
Reading package lists...
Building dependency tree...
Reading state information...
Calculating upgrade...
The following packages will be upgraded:
  apt libapt-pkg6.0 liblzma5 perl-base tzdata
5 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.
Inst perl-base [5.36.0-7+deb12u3] (5.36.0-7+deb12u4 Debian-Security:12/oldstable-security [amd64])
Conf perl-base (5.36.0-7+deb12u4 Debian-Security:12/oldstable-security [amd64])
Inst liblzma5 [5.4.1-1+deb12u1] (5.4.1-1+deb12u2 Debian-Security:12/oldstable-security [amd64])
Conf liblzma5 (5.4.1-1+deb12u2 Debian-Security:12/oldstable-security [amd64])
Inst libapt-pkg6.0 [2.6.1] (2.6.2 Debian-Security:12/oldstable-security [amd64])
Inst apt [2.6.1] (2.6.2 Debian-Security:12/oldstable-security [amd64])
Inst tzdata [2026b-0+deb12u1] (2026f-0+deb12u1 Debian-Security:12/oldstable-security [all])
Conf libapt-pkg6.0 (2.6.2 Debian-Security:12/oldstable-security [amd64])
"""

ANY_IPV4 = "0.0.0.0"  # noqa: S104 (an address ss prints, not one this test binds)
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvKhTV5Kuz6cLZpd6ZMuE9v/XSkCjmjg7bIGMx184rb t"


# ------------------------------------------------------------------------------- parsing


def test_sshd_config_keeps_every_value_of_a_keyword() -> None:
    config = audit.parse_sshd_config(SSHD_T_FRESH + "allowusers a\nallowusers b\n")
    assert config["permitrootlogin"] == ["without-password"]
    assert config["listenaddress"] == ["[::]:22", "0.0.0.0:22"]
    assert config["allowusers"] == ["a", "b"]
    assert config["authorizedkeysfile"] == [".ssh/authorized_keys .ssh/authorized_keys2"]


@pytest.mark.parametrize(
    ("spec", "ranges", "proto"),
    [
        ("22/tcp", [(22, 22)], "tcp"),
        ("22/tcp (v6)", [(22, 22)], "tcp"),
        ("8090", [(8090, 8090)], None),
        ("6000:6007/tcp", [(6000, 6007)], "tcp"),
        ("80,443/tcp", [(80, 80), (443, 443)], "tcp"),
        ("53/udp", [(53, 53)], "udp"),
        ("22/tcp on eth0", [(22, 22)], "tcp"),
        ("Anywhere", [], None),
        ("OpenSSH", [], None),
    ],
)
def test_ufw_port_specs(spec: str, ranges: list[tuple[int, int]], proto: str | None) -> None:
    assert audit.parse_port_spec(spec) == (ranges, proto)


def test_ufw_inactive_has_no_policy_nor_rules() -> None:
    status = audit.parse_ufw_status(UFW_INACTIVE)
    assert status == {"active": False, "incoming": None, "outgoing": None, "rules": []}


def test_ufw_active_status_after_lockdown() -> None:
    status = audit.parse_ufw_status(UFW_LOCKED)
    assert status["active"] is True
    assert (status["incoming"], status["outgoing"]) == ("deny", "allow")
    assert [r["to"] for r in status["rules"]] == [
        "22/tcp", "80/tcp", "443/tcp", "22/tcp (v6)", "80/tcp (v6)", "443/tcp (v6)",
    ]  # fmt: skip
    assert {r["action"] for r in status["rules"]} == {"ALLOW IN"}
    assert status["rules"][3]["source"] == "Anywhere (v6)"


def test_ufw_rules_of_every_kind() -> None:
    rules = audit.parse_ufw_status(UFW_MIXED)["rules"]
    by_to = {r["to"]: r for r in rules}
    assert by_to["2222/tcp"]["action"] == "LIMIT IN"
    assert by_to["Anywhere"]["source"] == "10.0.0.0/8"
    assert by_to["6000:6007/tcp"]["ranges"] == [(6000, 6007)]
    open_to = [r["to"] for r in audit.open_rules({"rules": rules})]
    assert "53/udp" not in open_to
    assert "Anywhere" not in open_to
    assert {"22/tcp", "8090", "6000:6007/tcp", "2222/tcp"} <= set(open_to)


def test_listeners_from_ss() -> None:
    listeners = audit.parse_listeners(SS_MIXED)
    assert [(item["address"], item["port"], item["public"]) for item in listeners] == [
        (ANY_IPV4, 22, True),
        ("127.0.0.1", 8091, False),
        (ANY_IPV4, 9000, True),
        ("::1", 6001, False),
        ("::", 22, True),
    ]
    assert listeners[0]["process"] == "sshd"
    assert listeners[2]["process"] == "python3"


@pytest.mark.parametrize(
    ("address", "public"),
    [("*", True), (ANY_IPV4, True), ("::", True), ("10.200.0.11", True),
     ("127.0.0.53", False), ("::1", False), ("::ffff:127.0.0.1", False)],
)  # fmt: skip
def test_loopback_addresses_are_not_public(address: str, public: bool) -> None:
    assert audit.is_public(address) is public


def test_fail2ban_status() -> None:
    assert audit.parse_fail2ban_status(FAIL2BAN_RUNNING) == {
        "failed": 0,
        "banned": 0,
        "journal": True,
    }
    assert audit.parse_fail2ban_status("") is None


def test_passwd_and_sudo() -> None:
    assert audit.parse_passwd_status(PASSWD_LOCKED) == "L"
    assert audit.parse_passwd_status("") is None
    assert audit.parse_sudo_rules(SUDO_ALLOWED) == ["(ALL) NOPASSWD: ALL"]
    assert audit.parse_sudo_rules(SUDO_DENIED) == []


def test_apt_config_and_pending_security_updates() -> None:
    config = audit.parse_apt_config(APT_CONFIG)
    assert config["APT::Periodic::Unattended-Upgrade"] == "1"
    assert config["APT::Periodic"] == ""
    pending = audit.pending_security_updates(APT_SIMULATE_SECURITY)
    assert pending == ["perl-base", "liblzma5", "libapt-pkg6.0", "apt", "tzdata"]
    assert audit.pending_security_updates(APT_SIMULATE_NOTHING) == []


# ------------------------------------------------------------------------------- judging


def _status(findings: list[dict[str, Any]]) -> dict[str, str]:
    return {f["id"]: f["status"] for f in findings}


def test_ssh_findings_of_a_fresh_host() -> None:
    findings = audit.ssh_findings(audit.parse_sshd_config(SSHD_T_FRESH), "", 3)
    assert _status(findings) == {
        "ssh.permit_root_login": "fail",
        "ssh.password_authentication": "fail",
        "ssh.kbd_interactive_authentication": "pass",
        "ssh.max_auth_tries": "fail",
        "ssh.x11_forwarding": "fail",
    }
    assert findings[0]["evidence"] == "sshd -T: permitrootlogin without-password"
    assert findings[0]["remediation"] == "playbooks/lockdown.yml"
    assert findings[1]["severity"] == "critical"


def test_ssh_findings_after_lockdown_pass() -> None:
    findings = audit.ssh_findings(audit.parse_sshd_config(SSHD_T_LOCKED), "", 3)
    assert set(_status(findings).values()) == {"pass"}
    lenient = audit.ssh_findings(audit.parse_sshd_config(SSHD_T_FRESH), "", 6)
    assert _status(lenient)["ssh.max_auth_tries"] == "pass"


def test_ssh_findings_when_sshd_cannot_be_read() -> None:
    findings = audit.ssh_findings(None, "sshd -T: command not found", 3)
    assert {f["status"] for f in findings} == {"fail"}
    assert {f["evidence"] for f in findings} == {"sshd -T: command not found"}


def test_firewall_of_a_fresh_host() -> None:
    listeners = audit.parse_listeners(SS_LOCKED)
    findings = audit.firewall_findings(
        audit.parse_ufw_status(UFW_INACTIVE), "", listeners, {22, 80, 443}
    )
    assert _status(findings) == {
        "firewall.active": "fail",
        "firewall.default_deny": "fail",
        "firewall.open_ports_without_listener": "pass",
        "firewall.listeners_not_allowed": "pass",
    }
    assert findings[0]["evidence"] == "ufw status: inactive"


def test_firewall_after_lockdown_passes() -> None:
    findings = audit.firewall_findings(
        audit.parse_ufw_status(UFW_LOCKED), "", audit.parse_listeners(SS_LOCKED), {22, 80, 443}
    )
    assert set(_status(findings).values()) == {"pass"}
    assert findings[1]["evidence"] == "ufw default policy: incoming deny, outgoing allow"


def test_firewall_compares_open_ports_with_public_listeners() -> None:
    findings = audit.firewall_findings(
        audit.parse_ufw_status(UFW_MIXED), "", audit.parse_listeners(SS_MIXED), {22, 80, 443}
    )
    by_id = {f["id"]: f for f in findings}
    stale = by_id["firewall.open_ports_without_listener"]
    assert stale["status"] == "warn"
    # 6001 listens on loopback only, so the 6000:6007 rule opens nothing that answers.
    assert stale["evidence"] == "opened, nothing listens: 2222/tcp, 6000:6007/tcp, 8090"
    blocked = by_id["firewall.listeners_not_allowed"]
    assert blocked["status"] == "warn"
    assert blocked["evidence"] == "listening, blocked by ufw: 0.0.0.0:9000 (python3)"


def test_firewall_when_ufw_is_missing() -> None:
    findings = audit.firewall_findings(None, "ufw status: command not found", [], {22})
    assert len(findings) == 4
    assert {f["status"] for f in findings} == {"fail"}


def test_public_listeners() -> None:
    mixed = audit.network_findings(audit.parse_listeners(SS_MIXED), {22, 80, 443})
    assert mixed[0]["status"] == "fail"
    assert mixed[0]["evidence"] == (
        "listening publicly besides ports [22, 80, 443]: 0.0.0.0:9000 (python3)"
    )
    locked = audit.network_findings(audit.parse_listeners(SS_LOCKED), {22, 80, 443})
    assert locked[0]["status"] == "pass"
    assert locked[0]["evidence"] == "public TCP listeners: 22 (sshd)"


def test_fail2ban_findings() -> None:
    running = audit.fail2ban_findings(0, FAIL2BAN_RUNNING, "")[0]
    assert running["status"] == "pass"
    assert running["evidence"] == (
        "jail sshd running, reading the journal; currently failed 0, currently banned 0"
    )
    down = audit.fail2ban_findings(255, "", FAIL2BAN_DOWN)[0]
    assert down["status"] == "fail"
    assert down["evidence"] == (
        "fail2ban-client: Failed to access socket path: /var/run/fail2ban/fail2ban.sock."
        " Is fail2ban running?"
    )
    missing = audit.fail2ban_findings(127, "", "fail2ban-client: command not found")[0]
    assert missing["evidence"] == "fail2ban-client: fail2ban-client: command not found"


def test_unattended_upgrades() -> None:
    config = audit.parse_apt_config(APT_CONFIG)
    assert audit.unattended_findings(True, config, "enabled")[0]["status"] == "pass"
    assert audit.unattended_findings(True, config, "disabled")[0]["status"] == "fail"
    masked = audit.unattended_findings(True, config, "enabled", "enabled\nmasked\n")[0]
    assert masked["status"] == "fail"
    assert masked["evidence"].endswith("apt timers enabled masked")
    off = audit.unattended_findings(False, {}, "", "")[0]
    assert off["status"] == "fail"
    assert off["evidence"] == (
        'unattended-upgrades not installed, APT::Periodic Update-Package-Lists "0",'
        ' Unattended-Upgrade "0", service unknown, apt timers unknown'
    )


def test_pending_security_updates_warn() -> None:
    pending = audit.pending_findings(0, APT_SIMULATE_SECURITY, "", True)[0]
    assert pending["status"] == "warn"
    assert pending["evidence"] == (
        "5 pending security update(s): perl-base, liblzma5, libapt-pkg6.0, apt, tzdata"
    )
    none, source = audit.pending_findings(0, APT_SIMULATE_NOTHING, "", False)
    assert none["status"] == "pass"
    assert none["evidence"] == "0 pending security update(s)"
    assert source["id"] == "updates.security_source"
    assert source["status"] == "fail"
    assert source["evidence"] == "no -security suite among the apt lists"
    locked = audit.pending_findings(100, "", "E: Could not get lock /var/lib/dpkg/lock", True)
    assert locked[0]["status"] == "warn"


def test_user_findings() -> None:
    rules = audit.parse_sudo_rules(SUDO_ALLOWED)
    good = audit.user_findings("pocketbase", "/home/pocketbase", "L", 1, rules)
    assert set(_status(good).values()) == {"pass"}
    assert good[1]["evidence"] == "passwd -S: L; 1 key(s) in authorized_keys"
    assert good[2]["evidence"] == "sudo -l: (ALL) NOPASSWD: ALL"
    weak = audit.user_findings("pocketbase", "/home/pocketbase", "P", 0, [])
    assert _status(weak) == {
        "user.app_user_present": "pass",
        "user.app_user_key_only": "fail",
        "user.app_user_sudo": "fail",
    }
    limited = audit.user_findings("pocketbase", "/h", "L", 1, ["(root) NOPASSWD: /bin/ls"])
    assert _status(limited)["user.app_user_sudo"] == "fail"
    missing = audit.user_findings("pocketbase", None, None, 0, [])
    assert {f["status"] for f in missing} == {"fail"}
    assert {f["remediation"] for f in missing} == {"playbooks/user.yml (or playbooks/setup.yml)"}


def test_app_findings() -> None:
    ok = audit.app_findings("blog", "/srv/blog", "pocketbase",
                            {"owner": "pocketbase", "mode": 0o700}, [])  # fmt: skip
    assert _status(ok) == {
        "app.blog.pb_data_owner_mode": "pass",
        "app.blog.world_writable": "pass",
    }
    messy = audit.app_findings("my app", "/srv/messy", "pocketbase",
                               {"owner": "root", "mode": 0o755}, ["/srv/messy/x"])  # fmt: skip
    assert _status(messy) == {
        "app.my_app.pb_data_owner_mode": "fail",
        "app.my_app.world_writable": "fail",
    }
    assert messy[0]["evidence"] == "/srv/messy/pb_data: owner root, mode 0755"
    assert messy[0]["title"] == "my app: pb_data is the app user's, 0700"
    missing = audit.app_findings("gone", "/srv/gone", "pocketbase", None, None)
    assert {f["status"] for f in missing} == {"warn"}


def test_score_is_the_weighted_share_of_passes() -> None:
    findings = [
        audit.finding("ssh.password_authentication", "pass", "x"),  # critical 10
        audit.finding("ssh.permit_root_login", "fail", "x"),  # high 5
        audit.finding("updates.pending_security", "warn", "x"),  # medium 3, half
        audit.finding("firewall.listeners_not_allowed", "warn", "x"),  # info, no weight
    ]
    report = audit.build_report(findings)
    assert report["score"] == round(100 * (10 + 1.5) / 18)
    assert report["summary"] == {"pass": 1, "fail": 1, "warn": 2}
    assert audit.build_report([])["score"] == 100


def test_every_check_has_a_known_severity_and_a_remediation() -> None:
    for fid, (title, severity, remediation) in audit.CHECKS.items():
        assert severity in audit.WEIGHTS, fid
        assert title
        assert remediation


# ------------------------------------------------------------------------ a whole host


class FakeHost:
    """Stands in for the module's Host with captured answers."""

    def __init__(self, answers: dict[str, tuple[int, str, str]], **files: Any) -> None:
        self.answers = {tuple(command.split()): answer for command, answer in answers.items()}
        self.homes: dict[str, str] = files.get("homes", {})
        self.stats: dict[str, dict[str, Any]] = files.get("stats", {})
        self.files: dict[str, str] = files.get("files", {})
        self.dirs: dict[str, list[str]] = files.get("dirs", {})
        self.prefetched: list[tuple[str, ...]] = []

    def prefetch(self, commands: list[list[str]]) -> None:
        self.prefetched += [tuple(command) for command in commands]

    def run(self, argv: list[str]) -> tuple[int, str, str]:
        return self.answers.get(tuple(argv), (127, "", f"{argv[0]}: command not found"))

    def home(self, user: str) -> str | None:
        return self.homes.get(user)

    def stat(self, path: str) -> dict[str, Any] | None:
        return self.stats.get(path)

    def read(self, path: str) -> str:
        return self.files.get(path, "")

    def listdir(self, path: str) -> list[str]:
        return self.dirs.get(path, [])


APT_SIMULATE = "apt-get -s -o Debug::NoLocking=true upgrade"
LIVE_LOGIN = " ".join(audit.live_login(22))
# What that login attempt printed on a Debian 12 host after lockdown (the lines the audit reads).
LIVE_LOCKED = """\
debug2: KEX algorithms: sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,ext-info-c,kex-strict-c-v00@openssh.com
debug2: host key algorithms: ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
debug2: ciphers ctos: chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com
debug2: MACs ctos: umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1
debug2: peer server KEXINIT proposal
debug2: KEX algorithms: sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,kex-strict-s-v00@openssh.com
debug2: host key algorithms: ssh-ed25519
debug2: ciphers ctos: chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr
debug2: MACs ctos: hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,umac-128-etm@openssh.com
root@127.0.0.1: Permission denied (publickey).
"""
LIVE_FRESH = LIVE_LOCKED.replace(
    "host key algorithms: ssh-ed25519", "host key algorithms: ssh-ed25519,ecdsa-sha2-nistp256"
).replace("(publickey)", "(publickey,password)")
SSHD_CONFIG = "Include /etc/ssh/sshd_config.d/*.conf\n\n#Port 22\n"


def _host(sshd: str, ufw: str, fail2ban: tuple[int, str, str], sudo: str) -> FakeHost:
    return FakeHost(
        {
            "sshd -T": (0, sshd, ""),
            "ss -tlnpH": (0, SS_LOCKED, ""),
            "ufw status verbose": (0, ufw, ""),
            "fail2ban-client status sshd": fail2ban,
            "apt-config dump": (0, APT_CONFIG, ""),
            "systemctl is-enabled unattended-upgrades": (0, "enabled\n", ""),
            "systemctl is-enabled apt-daily.timer apt-daily-upgrade.timer": (
                0,
                "enabled\nenabled\n",
                "",
            ),
            LIVE_LOGIN: (255, "", LIVE_LOCKED if sshd == SSHD_T_LOCKED else LIVE_FRESH),
            APT_SIMULATE: (0, APT_SIMULATE_NOTHING, ""),
            "passwd -S pocketbase": (0, PASSWD_LOCKED, ""),
            "sudo -l -U pocketbase": (0, sudo, ""),
            "find /srv/blog -xdev -perm -0002 -not -type l": (0, "", ""),
        },
        homes={"pocketbase": "/home/pocketbase"},
        stats={
            "/usr/bin/unattended-upgrade": {"owner": "root", "mode": 0o755},
            "/srv/blog": {"owner": "pocketbase", "mode": 0o755},
            "/srv/blog/pb_data": {"owner": "pocketbase", "mode": 0o700},
        },
        files={
            "/home/pocketbase/.ssh/authorized_keys": f"# keys\n{PUBLIC_KEY}\n",
            "/etc/ssh/sshd_config": SSHD_CONFIG,
        },
        dirs={
            "/var/lib/apt/lists": [
                "deb.debian.org_debian_dists_bookworm_InRelease",
                "deb.debian.org_debian-security_dists_bookworm-security_InRelease",
            ]
        },
    )


def test_a_locked_down_host_passes_everything() -> None:
    host = _host(SSHD_T_LOCKED, UFW_LOCKED, (0, FAIL2BAN_RUNNING, ""), SUDO_ALLOWED)
    findings = audit.collect(host, "pocketbase", [{"name": "blog", "path": "/srv/blog/"}])
    report = audit.build_report(findings)
    assert [f["id"] for f in findings if f["status"] != "pass"] == []
    assert report["score"] == 100
    assert report["summary"] == {"pass": len(findings), "fail": 0, "warn": 0}
    assert ("find", "/srv/blog", "-xdev", "-perm", "-0002", "-not", "-type", "l") in (
        host.prefetched
    )


def test_a_fresh_host_fails_ssh_firewall_and_fail2ban_with_evidence() -> None:
    host = _host(SSHD_T_FRESH, UFW_INACTIVE, (255, "", FAIL2BAN_DOWN), SUDO_DENIED)
    report = audit.build_report(audit.collect(host, "pocketbase"))
    failed = {f["id"] for f in report["findings"] if f["status"] == "fail"}
    assert failed == {
        "ssh.permit_root_login",
        "ssh.password_authentication",
        "ssh.max_auth_tries",
        "ssh.x11_forwarding",
        "ssh.crypto",
        "ssh.forwarding",
        "ssh.live_login",
        "firewall.active",
        "firewall.default_deny",
        "fail2ban.sshd_jail",
        "user.app_user_sudo",
    }
    assert 0 < report["score"] < 50
    ids = [f["id"] for f in report["findings"]]
    assert len(ids) == len(set(ids))


def test_evidence_never_carries_key_material() -> None:
    host = _host(SSHD_T_LOCKED, UFW_LOCKED, (0, FAIL2BAN_RUNNING, ""), SUDO_ALLOWED)
    findings = audit.collect(host, "pocketbase")
    text = " ".join(f["evidence"] for f in findings)
    assert "AAAA" not in text
    assert "ssh-ed25519" not in text


def test_authorized_keys_follow_sshd_setting() -> None:
    host = FakeHost(
        {},
        files={
            "/etc/ssh/keys/pocketbase": f"{PUBLIC_KEY}\n{PUBLIC_KEY}\n",
            "/home/pocketbase/.ssh/authorized_keys": "\n# nothing\n",
        },
    )
    sshd = {"authorizedkeysfile": ["/etc/ssh/keys/%u .ssh/authorized_keys"]}
    assert audit.authorized_key_count(host, "pocketbase", "/home/pocketbase", sshd) == 2
    assert audit.authorized_key_count(host, "pocketbase", "/home/pocketbase", {}) == 0


def test_a_missing_user_and_missing_tools() -> None:
    findings = audit.collect(FakeHost({}), "nobody-here", [{"name": "x", "path": "/srv/x"}])
    by_id = {f["id"]: f for f in findings}
    assert by_id["user.app_user_present"]["evidence"] == "no user nobody-here"
    assert by_id["ssh.permit_root_login"]["evidence"] == "sshd -T: sshd: command not found"
    assert by_id["firewall.active"]["evidence"] == "ufw status: ufw: command not found"
    assert by_id["app.x.world_writable"]["status"] == "warn"


HEALTHY_PROBE = {"status": 200, "issuer": "R11", "not_after": "Mar  1 00:00:00 2027 GMT"}


@pytest.mark.parametrize(
    ("tls", "probe", "status", "words"),
    [
        ("acme", HEALTHY_PROBE | {"days_left": 60}, "pass", "answered 200; certificate from R11"),
        ("acme", HEALTHY_PROBE | {"days_left": 3}, "fail", "(3 days)"),
        ("internal", HEALTHY_PROBE | {"days_left": 0}, "pass", "(0 days)"),
        ("acme", HEALTHY_PROBE | {"days_left": 60, "status": 502}, "fail", "answered 502"),
        ("acme", {"error": "certificate verify failed"}, "fail", "verify failed"),
        ("off", {}, "warn", "plain HTTP"),
    ],
)
def test_an_app_domain_needs_a_valid_certificate(
    tls: str, probe: dict[str, Any], status: str, words: str
) -> None:
    found = audit.https_finding("blog", "blog.example.com", tls, probe)

    assert (found["id"], found["status"], found["severity"]) == ("app.blog.https", status, "high")
    assert words in found["evidence"]
    assert "blog.example.com" in found["evidence"]


def test_a_probe_of_a_closed_port_reports_the_error() -> None:
    probe = audit.probe_https("nothing.example.test", [], timeout=1.0)

    assert set(probe) == {"error"}


def test_sshd_without_include_and_a_live_sshd_that_still_asks_for_passwords() -> None:
    config = audit.parse_sshd_config(SSHD_T_LOCKED)
    (include, crypto, forwarding) = audit.sshd_file_findings(config, "#Include x\nPort 22\n")
    assert (include["id"], include["status"]) == ("ssh.include", "fail")
    assert include["evidence"].endswith("missing")
    assert (crypto["status"], forwarding["status"]) == ("pass", "pass")
    (stale,) = audit.live_login_findings(255, "", LIVE_FRESH)
    assert stale["status"] == "fail"
    assert stale["evidence"] == (
        "root offered: publickey,password; weak algorithms offered: ecdsa-sha2-nistp256"
    )
    (unreachable,) = audit.live_login_findings(255, "", "ssh: connect to host 127.0.0.1 port 22")
    assert unreachable["status"] == "warn"
