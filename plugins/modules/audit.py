#!/usr/bin/python
"""Read-only security audit of one host in a single module call.

Runs the host's own tools (sshd -T, ufw, ss, fail2ban-client, apt-config, apt-get -s, passwd -S,
sudo -l, find), turns what they print into findings and returns them as the fact
``audit_report``. Parsing and judging are pure functions of the command output, tested on
output captured from real hosts; only :class:`Host` touches the system.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import os
import pwd
import re
import socket
import ssl
import time

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: audit
short_description: Read-only security findings of a pbdeployer host
description:
  - Collects SSH, firewall, fail2ban, update, app user and app directory evidence and returns
    the fact C(audit_report) with a score, a summary and one finding per check.
  - Changes nothing and runs in check mode too. Needs root (become) to read sshd and ufw state.
options:
  app_user:
    description: The user pbdeployer connects as and runs apps as.
    type: str
    required: true
  apps:
    description: Apps to check, each C(name), C(path) (the app's remote path), C(user), and
      C(domain) with C(tls) (acme, internal, off) for those the proxy serves.
    type: list
    elements: dict
    default: []
  expected_ports:
    description: TCP ports meant to be reachable from outside; sshd's ports are added.
    type: list
    elements: int
    default: [22, 80, 443]
  max_auth_tries:
    description: Highest sshd MaxAuthTries that passes.
    type: int
    default: 3
author: pbdeployer
"""

EXAMPLES = r"""
- name: Audit the host
  pbdeployer.pocketbase.audit:
    app_user: pocketbase
    apps: [{name: blog, path: /srv/blog, user: pocketbase}]
"""

RETURN = r"""
msg:
  description: The score and the pass, fail and warn counts.
  returned: always
  type: str
not_passed:
  description: One line per finding that did not pass.
  returned: always
  type: list
ansible_facts:
  description: C(audit_report) with C(score) (0-100), C(summary) (pass, fail and warn counts)
    and C(findings) (id, title, severity, status, evidence, remediation).
  returned: always
  type: dict
"""

WEIGHTS = {"critical": 10, "high": 5, "medium": 3, "low": 1, "info": 0}
CREDIT = {"pass": 1.0, "warn": 0.5, "fail": 0.0}
# Fixes name the playbook that applies them (the API runs the same ones).
LOCKDOWN = "playbooks/lockdown.yml"
SETUP_USER = "playbooks/user.yml (or playbooks/setup.yml)"
DEPLOY = "playbooks/deploy.yml"
UPGRADE = "apt-get upgrade (unattended-upgrades does it daily)"
CADDY_ROOT = "/var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt"
LOCAL_ONLY = "bind the service to 127.0.0.1 (as pbdeployer's apps are)"

# Every finding: id -> (title, severity, remediation). "{app}" is the app's name.
CHECKS = {
    "ssh.permit_root_login": ("Root cannot log in over SSH", "high", LOCKDOWN),
    "ssh.password_authentication": ("SSH refuses passwords", "critical", LOCKDOWN),
    "ssh.kbd_interactive_authentication": ("SSH refuses keyboard-interactive", "medium", LOCKDOWN),
    "ssh.max_auth_tries": ("SSH allows few authentication attempts", "low", LOCKDOWN),
    "ssh.x11_forwarding": ("SSH does not forward X11", "low", LOCKDOWN),
    "ssh.include": (
        "sshd reads its drop-in directory", "high",
        "put 'Include /etc/ssh/sshd_config.d/*.conf' first in /etc/ssh/sshd_config "
        f"(or {LOCKDOWN} with lockdown_sshd_add_include=true)",
    ),
    "ssh.crypto": ("SSH offers only strong algorithms", "high", LOCKDOWN),
    "ssh.forwarding": (
        "SSH forwards no TCP or agent connections", "medium",
        f"{LOCKDOWN} (lockdown_sshd_forwarding false)",
    ),
    "ssh.live_login": (
        "The running sshd refuses passwords and weak algorithms", "high",
        f"{LOCKDOWN}; sshd must be reloaded to take its configuration",
    ),
    "firewall.active": ("The firewall is active", "high", LOCKDOWN),
    "firewall.default_deny": ("The firewall denies incoming by default", "high", LOCKDOWN),
    "firewall.open_ports_without_listener": (
        "Every opened port has a listener", "low", "remove the rule (ufw delete allow PORT)"
    ),
    "firewall.listeners_not_allowed": (
        "The firewall lets every public listener through", "info",
        f"lockdown_extra_ports in {LOCKDOWN}, or {LOCAL_ONLY}",
    ),
    "fail2ban.sshd_jail": ("fail2ban watches SSH logins", "medium", LOCKDOWN),
    "updates.unattended_upgrades": ("Updates install themselves", "medium", LOCKDOWN),
    "updates.pending_security": ("No security update is pending", "medium", UPGRADE),
    "updates.security_source": (
        "apt reads a -security suite", "medium",
        "add the distribution's -security suite to the apt sources",
    ),
    "user.app_user_present": ("The app user exists", "high", SETUP_USER),
    "user.app_user_key_only": ("The app user logs in with a key only", "medium", SETUP_USER),
    "user.app_user_sudo": ("The app user has passwordless sudo", "medium", SETUP_USER),
    "app.{app}.pb_data_owner_mode": ("{app}: pb_data is the app user's, 0700", "high", DEPLOY),
    "app.{app}.world_writable": (
        "{app}: nothing is world-writable", "high", f"chmod o-w; {DEPLOY}"
    ),
    "network.public_listeners": ("Only SSH and web ports listen publicly", "medium", LOCAL_ONLY),
    "app.{app}.https": (
        "{app}: answers over HTTPS with a certificate valid for its domain", "high",
        "point the domain's DNS at the server and open 80/443; then POST /apps/{id}/site",
    ),
}  # fmt: skip


def finding(fid, status, evidence, app=""):
    """The finding ``fid`` of CHECKS with its status (pass, fail or warn) and evidence."""
    title, severity, remediation = CHECKS[fid]
    return {
        "id": fid.format(app=re.sub(r"[^A-Za-z0-9_-]", "_", app)),
        "title": title.format(app=app),
        "severity": severity,
        "status": status,
        "evidence": evidence,
        "remediation": remediation,
    }


def judge(fid, ok, evidence, bad="fail", app=""):
    return finding(fid, "pass" if ok else bad, evidence, app)


def listed(items, most=5):
    """Up to ``most`` items, comma-separated, then the count of the rest."""
    items = list(items)
    more = f" and {len(items) - most} more" if len(items) > most else ""
    return ", ".join(str(item) for item in items[:most]) + more


def last_line(out, err, rc):
    """The last line a failed command printed, without a log line's time and level."""
    lines = (err or out).strip().splitlines()
    if not lines:
        return f"exit {rc}"
    return re.sub(
        r"^\d{4}-\d\d-\d\d [\d:,.]+ .*?\b(ERROR|WARNING|CRITICAL)\s+", "", lines[-1].strip()
    )


# ------------------------------------------------------------------------- parsing (pure)


def parse_sshd_config(text):
    """``sshd -T`` -> {keyword: [values]}; keywords are lower case."""
    config = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if key and value:
            config.setdefault(key.lower(), []).append(value)
    return config


def parse_port_spec(spec):
    """ufw's "To" column ("22/tcp", "80,443/tcp", "6000:6007", "22 on eth0") -> (ranges, proto).

    ``ranges`` is a list of (low, high); an application profile or "Anywhere" has none.
    """
    ports, _, proto = spec.replace(" (v6)", "").split(" on ")[0].strip().partition("/")
    ranges = []
    for part in ports.split(","):
        low, _, high = part.partition(":")
        if not low.isdigit() or not (high.isdigit() or not high):
            return [], proto or None
        ranges.append((int(low), int(high or low)))
    return ranges, proto or None


def parse_ufw_status(text):
    """``ufw status verbose`` -> {active, incoming, outgoing, rules}."""
    status = {"active": False, "incoming": None, "outgoing": None, "rules": []}
    in_rules = False
    for line in text.splitlines():
        if line.startswith("Status:"):
            status["active"] = line.split(":", 1)[1].strip() == "active"
        elif line.startswith("Default:"):
            for policy, direction in re.findall(r"(\w+) \((incoming|outgoing)\)", line):
                status[direction] = policy
        elif line.startswith("--"):
            in_rules = True
        elif in_rules and len(columns := re.split(r"\s{2,}", line.strip())) >= 3:
            ranges, proto = parse_port_spec(columns[0])
            rule = {"to": columns[0], "action": columns[1], "source": columns[2]}
            status["rules"].append({**rule, "ranges": ranges, "proto": proto})
    return status


def parse_listeners(text):
    """``ss -tlnpH`` -> [{address, port, process, public}]; public: not loopback."""
    listeners = []
    for line in text.splitlines():
        fields = line.split()
        address, _, port = fields[3].rpartition(":") if len(fields) > 3 else ("", "", "")
        if not port.isdigit():
            continue
        address = address.strip("[]").split("%")[0]
        process = ",".join(sorted(set(re.findall(r'\("([^"]+)"', line)))) or "?"
        listeners.append(
            {
                "address": address,
                "port": int(port),
                "process": process,
                "public": is_public(address),
            }
        )
    return listeners


def is_public(address):
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return True  # "*": every address
    return not (getattr(ip, "ipv4_mapped", None) or ip).is_loopback


def parse_fail2ban_status(text):
    """``fail2ban-client status JAIL`` -> {failed, banned, journal}, None without the jail."""
    if "Status for the jail:" not in text:
        return None
    numbers = dict(re.findall(r"Currently (failed|banned):\s*(\d+)", text))
    return {
        "failed": int(numbers.get("failed", 0)),
        "banned": int(numbers.get("banned", 0)),
        "journal": "Journal matches:" in text,
    }


def parse_passwd_status(text):
    """``passwd -S USER`` -> L (locked), NP (no password), P (usable password) or None."""
    fields = text.split()
    return fields[1] if len(fields) > 1 else None


def parse_sudo_rules(text):
    """``sudo -l -U USER`` -> the rules the user may run; [] when not allowed."""
    _, found, rules = text.partition(" may run the following commands")
    return [line.strip() for line in rules.splitlines()[1:] if line.strip()] if found else []


def parse_apt_config(text):
    """``apt-config dump`` -> {key: value}."""
    return dict(re.findall(r'^(\S+) "(.*)";$', text, re.MULTILINE))


def pending_security_updates(text):
    """Names of the packages in ``apt-get -s upgrade`` "Inst" lines from a -security suite."""
    return [
        line.split()[1]
        for line in text.splitlines()
        if line.startswith("Inst ") and "-security" in line
    ]


# ------------------------------------------------------------------------- judging (pure)

# sshd keyword of each ssh.* finding, and whether its value passes.
SSHD_CHECKS = (
    ("ssh.permit_root_login", "permitrootlogin", lambda value, _: value == "no"),
    ("ssh.password_authentication", "passwordauthentication", lambda value, _: value == "no"),
    ("ssh.kbd_interactive_authentication", "kbdinteractiveauthentication",
     lambda value, _: value == "no"),
    ("ssh.max_auth_tries", "maxauthtries",
     lambda value, most: value.isdigit() and int(value) <= most),
    ("ssh.x11_forwarding", "x11forwarding", lambda value, _: value == "no"),
)  # fmt: skip


def ssh_findings(config, error, max_auth_tries):
    """ssh.* from ``sshd -T``; ``config`` is None (and ``error`` says why) if unreadable."""
    if config is None:
        return [finding(fid, "fail", error) for fid, _, _ in SSHD_CHECKS]
    findings = []
    for fid, key, good in SSHD_CHECKS:
        value = (config.get(key) or ["(not set)"])[0]
        findings.append(judge(fid, good(value, max_auth_tries), f"sshd -T: {key} {value}"))
    return findings


def is_weak(keyword, name):
    """An algorithm ssh-audit fails or warns about (NIST curves, SHA-1, small groups, CBC...)."""
    if keyword == "kexalgorithms":
        return name.startswith(("ecdh-sha2-", "diffie-hellman-group1-", "diffie-hellman-group14-")) or "sha1" in name
    if keyword == "hostkeyalgorithms":
        return "ecdsa" in name or name.startswith(("ssh-rsa", "ssh-dss"))
    if keyword == "ciphers":
        return name.endswith("-cbc") or name.startswith(("3des", "arcfour"))
    return not name.endswith("-etm@openssh.com") or "sha1" in name or "umac-64" in name or "md5" in name


def weak_algorithms(offered):
    """``offered``: keyword -> comma-separated names (sshd -T or the live KEXINIT)."""
    return [name for keyword in ("kexalgorithms", "hostkeyalgorithms", "ciphers", "macs")
            for name in offered.get(keyword, "").split(",") if name and is_weak(keyword, name)]  # fmt: skip


def parse_live_login(text):
    """What a login attempt (ssh -vv) saw: the server's KEXINIT lists and the methods offered."""
    proposal = text.partition("peer server KEXINIT proposal")[2]
    offered = {}
    for keyword, label in (("kexalgorithms", "KEX algorithms"), ("hostkeyalgorithms", "host key algorithms"),
                           ("ciphers", "ciphers ctos"), ("macs", "MACs ctos")):  # fmt: skip
        found = re.search(rf"(?m)^debug2: {label}: (\S*)", proposal)
        if found:
            offered[keyword] = found.group(1)
    methods = re.search(r"Permission denied \(([^)]*)\)", text)
    return offered, methods.group(1).split(",") if methods else None


def sshd_file_findings(config, sshd_config):
    """ssh.include, ssh.crypto and ssh.forwarding from sshd_config's text and ``sshd -T``."""
    included = re.search(r"(?mi)^\s*Include\s+(/etc/ssh/)?sshd_config\.d/\*\.conf", sshd_config)
    findings = [judge("ssh.include", bool(included), "Include of sshd_config.d/*.conf in "
                      f"/etc/ssh/sshd_config: {'yes' if included else 'missing'}")]  # fmt: skip
    if config is None:
        return findings + [finding("ssh.crypto", "fail", "sshd -T unreadable"),
                           finding("ssh.forwarding", "fail", "sshd -T unreadable")]  # fmt: skip
    weak = weak_algorithms({k: ",".join(config.get(k, [])) for k in
                            ("kexalgorithms", "hostkeyalgorithms", "ciphers", "macs")})  # fmt: skip
    findings.append(judge("ssh.crypto", not weak, f"sshd -T weak: {listed(weak)}" if weak
                          else "sshd -T: no weak key exchange, host key, cipher or MAC"))  # fmt: skip
    forwarding = {k: (config.get(k) or ["yes"])[0] for k in ("allowtcpforwarding", "allowagentforwarding")}
    evidence = ", ".join(f"{k} {v}" for k, v in forwarding.items())
    return findings + [judge("ssh.forwarding", set(forwarding.values()) == {"no"}, f"sshd -T: {evidence}")]


def live_login_findings(rc, out, err):
    """ssh.live_login from a root login attempt on loopback: what the running sshd does."""
    offered, methods = parse_live_login(err)
    if methods is None or not offered:
        return [finding("ssh.live_login", "warn", f"login attempt: {last_line(out, err, rc)}")]
    weak = weak_algorithms(offered)
    asks = [m for m in methods if m in ("password", "keyboard-interactive")]
    evidence = f"root offered: {','.join(methods)}; " + (
        f"weak algorithms offered: {listed(weak)}" if weak else "no weak algorithm offered")
    return [judge("ssh.live_login", not weak and not asks, evidence)]


def open_rules(ufw):
    """ufw rules that let TCP in from anywhere."""
    return [
        rule
        for rule in ufw["rules"]
        if rule["action"] in ("ALLOW IN", "LIMIT IN")
        and rule["source"].startswith("Anywhere")
        and rule["proto"] in (None, "tcp")
    ]


def in_ranges(port, ranges):
    return any(low <= port <= high for low, high in ranges)


def firewall_findings(ufw, error, listeners, expected_ports):
    """firewall.* from ``ufw status verbose`` (None if unreadable) and the TCP listeners."""
    if ufw is None:
        return [finding(fid, "fail", error) for fid in CHECKS if fid.startswith("firewall.")]
    active = ufw["active"]
    policy = f"incoming {ufw['incoming']}, outgoing {ufw['outgoing']}"
    if not active:
        policy = "not enforced, ufw is inactive"
        unused = "ufw is inactive, so it opens and blocks nothing (see firewall.active)"
        compared = [
            finding("firewall.open_ports_without_listener", "pass", unused),
            finding("firewall.listeners_not_allowed", "pass", unused),
        ]
    else:
        compared = compare_findings(open_rules(ufw), listeners, expected_ports)
    return [
        judge("firewall.active", active, f"ufw status: {'active' if active else 'inactive'}"),
        judge("firewall.default_deny", active and ufw["incoming"] in ("deny", "reject"),
              f"ufw default policy: {policy}"),
        *compared,
    ]  # fmt: skip


def compare_findings(rules, listeners, expected_ports):
    """Opened ports nothing listens on; public listeners the firewall blocks."""
    ports = {item["port"] for item in listeners if item["public"]} | set(expected_ports)
    unused = [r for r in rules if r["ranges"] and not any(in_ranges(p, r["ranges"]) for p in ports)]
    stale = sorted({rule["to"].replace(" (v6)", "") for rule in unused})
    blocked = sorted(
        {
            socket_label(item)
            for item in listeners
            if item["public"] and not any(in_ranges(item["port"], r["ranges"]) for r in rules)
        }
    )
    return [
        judge("firewall.open_ports_without_listener", not stale,
              f"opened, nothing listens: {listed(stale)}" if stale
              else "every opened port has a listener or is an expected port", bad="warn"),
        judge("firewall.listeners_not_allowed", not blocked,
              f"listening, blocked by ufw: {listed(blocked)}" if blocked
              else "ufw lets every public listener through", bad="warn"),
    ]  # fmt: skip


def socket_label(listener):
    return f"{listener['address']}:{listener['port']} ({listener['process']})"


def network_findings(listeners, expected_ports):
    public = [item for item in listeners if item["public"]]
    unexpected = sorted({socket_label(i) for i in public if i["port"] not in expected_ports})
    seen = sorted({f"{i['port']} ({i['process']})" for i in public})
    evidence = (
        f"listening publicly besides ports {sorted(expected_ports)}: {listed(unexpected)}"
        if unexpected
        else f"public TCP listeners: {listed(seen) or 'none'}"
    )
    return [judge("network.public_listeners", not unexpected, evidence)]


def fail2ban_findings(rc, out, err):
    jail = parse_fail2ban_status(out) if rc == 0 else None
    if jail is None:
        return [
            finding("fail2ban.sshd_jail", "fail", f"fail2ban-client: {last_line(out, err, rc)}")
        ]
    source = "the journal" if jail["journal"] else "log files"
    evidence = (
        f"jail sshd running, reading {source}; "
        f"currently failed {jail['failed']}, currently banned {jail['banned']}"
    )
    return [finding("fail2ban.sshd_jail", "pass", evidence)]


def unattended_findings(installed, apt_config, enabled, timers="enabled\nenabled"):
    """``installed``: /usr/bin/unattended-upgrade exists; ``enabled``, ``timers``: is-enabled
    of the service and of apt-daily.timer and apt-daily-upgrade.timer (masked: nothing runs)."""
    lists = apt_config.get("APT::Periodic::Update-Package-Lists", "0")
    upgrade = apt_config.get("APT::Periodic::Unattended-Upgrade", "0")
    on = lists not in ("", "0") and upgrade not in ("", "0")
    evidence = (
        f"unattended-upgrades {'installed' if installed else 'not installed'}, "
        f'APT::Periodic Update-Package-Lists "{lists}", Unattended-Upgrade "{upgrade}", '
        f"service {enabled or 'unknown'}, apt timers {' '.join(timers.split()) or 'unknown'}"
    )
    ok = installed and on and enabled == "enabled" and timers.split() == ["enabled", "enabled"]
    return [judge("updates.unattended_upgrades", ok, evidence)]


def pending_findings(rc, out, err, has_security_source):
    if rc != 0:
        evidence = f"apt-get -s upgrade: {last_line('', err, rc)}"
        return [finding("updates.pending_security", "warn", evidence)]
    packages = pending_security_updates(out)
    evidence = f"{len(packages)} pending security update(s)" + (
        f": {listed(packages)}" if packages else ""
    )
    source = "a -security suite" if has_security_source else "no -security suite"
    return [
        judge("updates.pending_security", not packages, evidence, bad="warn"),
        judge("updates.security_source", has_security_source, f"{source} among the apt lists"),
    ]


def user_findings(user, home, password_state, key_count, sudo_rules):
    """user.*; ``home`` is None when the user does not exist."""
    if home is None:
        return [
            finding(fid, "fail", f"no user {user}") for fid in CHECKS if fid.startswith("user.")
        ]
    passwordless = [rule for rule in sudo_rules if "NOPASSWD:" in rule and rule.endswith(" ALL")]
    return [
        finding("user.app_user_present", "pass", f"user {user}, home {home}"),
        judge("user.app_user_key_only", password_state in ("L", "NP") and key_count > 0,
              f"passwd -S: {password_state or 'unknown'}; {key_count} key(s) in authorized_keys"),
        judge("user.app_user_sudo", bool(passwordless),
              f"sudo -l: {'; '.join(sudo_rules) if sudo_rules else 'no rule'}"),
    ]  # fmt: skip


def app_findings(app, path, user, pb_data, world_writable):
    """app.<name>.*; ``pb_data`` {owner, mode} and ``world_writable`` [paths], None if missing."""
    if pb_data is None:
        data = finding("app.{app}.pb_data_owner_mode", "warn", f"no {path}/pb_data", app)
    else:
        ok = pb_data["owner"] == user and pb_data["mode"] == 0o700
        evidence = f"{path}/pb_data: owner {pb_data['owner']}, mode {pb_data['mode']:04o}"
        data = judge("app.{app}.pb_data_owner_mode", ok, evidence, app=app)
    if world_writable is None:
        writable = finding("app.{app}.world_writable", "warn", f"no {path}", app)
    else:
        evidence = (
            f"{len(world_writable)} world-writable under {path}: {listed(world_writable)}"
            if world_writable
            else f"nothing world-writable under {path}"
        )
        writable = judge("app.{app}.world_writable", not world_writable, evidence, app=app)
    return [data, writable]


def https_finding(app, domain, tls, probe):
    """app.<name>.https from ``probe`` ({error} or {status, issuer, not_after, days_left})."""
    if tls == "off":
        return finding("app.{app}.https", "warn", f"{domain} is served over plain HTTP", app)
    if "error" in probe:
        return finding("app.{app}.https", "fail", f"https://{domain}: {probe['error']}", app)
    # The internal CA issues 12-hour certificates and renews them; public ones last 90 days
    # and are renewed 30 days ahead, so a week left means renewal is failing.
    ok = probe["status"] < 500 and probe["days_left"] >= (0 if tls == "internal" else 7)
    evidence = (
        f"https://{domain} answered {probe['status']}; certificate from {probe['issuer']}, "
        f"valid until {probe['not_after']} ({probe['days_left']} days)"
    )
    return judge("app.{app}.https", ok, evidence, app=app)


def probe_https(domain, ca_files, timeout=5.0):
    """GET /api/health from 127.0.0.1:443 by ``domain``, verifying the chain and the name."""
    context = ssl.create_default_context()
    for ca_file in ca_files:
        if os.path.isfile(ca_file):
            context.load_verify_locations(ca_file)
    request = f"GET /api/health HTTP/1.1\r\nHost: {domain}\r\nConnection: close\r\n\r\n"
    try:
        with (
            socket.create_connection(("127.0.0.1", 443), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=domain) as tls,
        ):
            cert = tls.getpeercert()
            tls.sendall(request.encode())
            head = tls.recv(64).decode("latin-1")
    except (OSError, ssl.SSLError) as exc:
        return {"error": str(exc) or type(exc).__name__}
    not_after = ssl.cert_time_to_seconds(cert["notAfter"])
    issuer = dict(pair[0] for pair in cert.get("issuer", ())).get("commonName", "?")
    status = int(head.split(" ")[1]) if head.startswith("HTTP/") and " " in head else 599
    days_left = int((not_after - time.time()) // 86400)
    return {
        "status": status,
        "issuer": issuer,
        "not_after": cert["notAfter"],
        "days_left": days_left,
    }


def build_report(findings):
    """Score: weighted share of passes (a warn earns half, info weighs nothing)."""
    total = sum(WEIGHTS[f["severity"]] for f in findings)
    earned = sum(WEIGHTS[f["severity"]] * CREDIT[f["status"]] for f in findings)
    return {
        "score": round(100 * earned / total) if total else 100,
        "summary": {status: sum(f["status"] == status for f in findings) for status in CREDIT},
        "findings": findings,
    }


def not_passed(findings):
    """One line per finding that did not pass, for people reading the play's output."""
    return [
        f"{f['status']} ({f['severity']}) {f['id']}: {f['evidence']} -> {f['remediation']}"
        for f in findings
        if f["status"] != "pass"
    ]


# ------------------------------------------------------------------------- the host (I/O)


class Host:
    """The ways the audit looks at the host; tests stand in for it with captured answers."""

    def __init__(self, module):
        self.module = module
        self.answers = {}

    def prefetch(self, commands):
        """Run read-only commands side by side (apt-get -s alone takes a second or two)."""
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(self.execute, commands))
        self.answers.update(zip(map(tuple, commands), answers, strict=True))

    def run(self, argv):
        """(rc, stdout, stderr) of ``argv``, answered from the prefetched ones when there."""
        if tuple(argv) not in self.answers:
            self.answers[tuple(argv)] = self.execute(argv)
        return self.answers[tuple(argv)]

    def execute(self, argv):
        path = self.module.get_bin_path(argv[0])
        if path is None:
            return 127, "", f"{argv[0]}: command not found"
        return self.module.run_command([path, *argv[1:]], environ_update={"LC_ALL": "C"})

    def home(self, user):
        try:
            return pwd.getpwnam(user).pw_dir
        except KeyError:
            return None

    def stat(self, path):
        try:
            info = os.stat(path)
        except OSError:
            return None
        try:
            owner = pwd.getpwuid(info.st_uid).pw_name
        except KeyError:
            owner = str(info.st_uid)
        return {"owner": owner, "mode": info.st_mode & 0o7777}

    def read(self, path):
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError:
            return ""

    def listdir(self, path):
        try:
            return os.listdir(path)
        except OSError:
            return []


SSHD_T = ["sshd", "-T"]
SS = ["ss", "-tlnpH"]
UFW_STATUS = ["ufw", "status", "verbose"]
FAIL2BAN_STATUS = ["fail2ban-client", "status", "sshd"]
APT_CONFIG = ["apt-config", "dump"]
UNATTENDED_ENABLED = ["systemctl", "is-enabled", "unattended-upgrades"]
APT_SIMULATE = ["apt-get", "-s", "-o", "Debug::NoLocking=true", "upgrade"]
UPGRADE_TIMERS = ["systemctl", "is-enabled", "apt-daily.timer", "apt-daily-upgrade.timer"]


def live_login(port):
    """A root login attempt on loopback with no key: the running sshd's offer, nothing more."""
    return ["ssh", "-vv", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "PubkeyAuthentication=no",
            "-o", "ConnectTimeout=5", "-p", str(port), "root@127.0.0.1", "true"]  # fmt: skip


def user_commands(user):
    return [["passwd", "-S", user], ["sudo", "-l", "-U", user]]


def find_world_writable(path):
    return ["find", path, "-xdev", "-perm", "-0002", "-not", "-type", "l"]


def app_path(app):
    return app["path"].rstrip("/") or "/"


def authorized_key_count(host, user, home, sshd):
    """Keys in the user's AuthorizedKeysFile(s) as sshd names them (%h, %u, relative)."""
    count = 0
    for pattern in " ".join(sshd.get("authorizedkeysfile", [".ssh/authorized_keys"])).split():
        name = pattern.replace("%h", home).replace("%u", user).replace("%%", "%")
        text = host.read(os.path.join(home, name))  # join keeps an absolute name as it is
        count += sum(1 for line in text.splitlines() if line.strip() and line.strip()[0] != "#")
    return count


def collect_user(host, user, sshd):
    home = host.home(user)
    if home is None:
        return user_findings(user, None, None, 0, [])
    (_, passwd_out, _), (_, sudo_out, _) = (host.run(argv) for argv in user_commands(user))
    keys = authorized_key_count(host, user, home, sshd or {})
    return user_findings(
        user, home, parse_passwd_status(passwd_out), keys, parse_sudo_rules(sudo_out)
    )


def collect_updates(host):
    _, config_out, _ = host.run(APT_CONFIG)
    _, enabled_out, _ = host.run(UNATTENDED_ENABLED)
    _, timers_out, _ = host.run(UPGRADE_TIMERS)
    installed = host.stat("/usr/bin/unattended-upgrade") is not None
    findings = unattended_findings(
        installed, parse_apt_config(config_out), enabled_out.strip(), timers_out
    )
    rc, out, err = host.run(APT_SIMULATE)
    security = any("security" in name for name in host.listdir("/var/lib/apt/lists"))
    return findings + pending_findings(rc, out, err, security)


def collect_app(host, app, default_user):
    path, user = app_path(app), app.get("user") or default_user
    world_writable = None
    if host.stat(path) is not None:
        world_writable = host.run(find_world_writable(path))[1].splitlines()
    findings = app_findings(app["name"], path, user, host.stat(f"{path}/pb_data"), world_writable)
    domain, tls = app.get("domain") or "", app.get("tls") or "acme"
    if domain:
        probe = {} if tls == "off" else probe_https(domain, [CADDY_ROOT])
        findings.append(https_finding(app["name"], domain, tls, probe))
    return findings


def collect(host, app_user, apps=(), expected_ports=(22, 80, 443), max_auth_tries=3):
    """Every finding of the host, in a stable order."""
    host.prefetch(
        [SSHD_T, SS, UFW_STATUS, FAIL2BAN_STATUS, APT_CONFIG, UNATTENDED_ENABLED, APT_SIMULATE,
         UPGRADE_TIMERS]
        + user_commands(app_user)
        + [find_world_writable(app_path(app)) for app in apps]
    )
    rc, out, err = host.run(SSHD_T)
    sshd = parse_sshd_config(out) if rc == 0 else None
    expected = set(expected_ports) | {int(p) for p in (sshd or {}).get("port", []) if p.isdigit()}
    listeners = parse_listeners(host.run(SS)[1])
    ufw_rc, ufw_out, ufw_err = host.run(UFW_STATUS)
    ufw = parse_ufw_status(ufw_out) if ufw_rc == 0 else None
    findings = ssh_findings(sshd, f"sshd -T: {last_line('', err, rc)}", max_auth_tries)
    findings += sshd_file_findings(sshd, host.read("/etc/ssh/sshd_config"))
    ports = [p for p in (sshd or {}).get("port", ["22"]) if p.isdigit()] or ["22"]
    findings += live_login_findings(*host.run(live_login(ports[0])))
    ufw_error = f"ufw status: {last_line('', ufw_err, ufw_rc)}"
    findings += firewall_findings(ufw, ufw_error, listeners, expected)
    findings += fail2ban_findings(*host.run(FAIL2BAN_STATUS))
    findings += collect_updates(host)
    findings += collect_user(host, app_user, sshd)
    for app in apps:
        findings += collect_app(host, app, app_user)
    return findings + network_findings(listeners, expected)


def main():
    module = AnsibleModule(
        argument_spec={
            "app_user": {"type": "str", "required": True},
            "apps": {"type": "list", "elements": "dict", "default": []},
            "expected_ports": {"type": "list", "elements": "int", "default": [22, 80, 443]},
            "max_auth_tries": {"type": "int", "default": 3},
        },
        supports_check_mode=True,
    )
    params = module.params
    for app in params["apps"]:
        if not app.get("name") or not str(app.get("path", "")).startswith("/"):
            module.fail_json(msg=f"each of apps needs a name and an absolute path, not {app!r}")
    findings = collect(
        Host(module),
        params["app_user"],
        params["apps"],
        params["expected_ports"],
        params["max_auth_tries"],
    )
    report = build_report(findings)
    counts = ", ".join(f"{n} {status}" for status, n in report["summary"].items())
    module.exit_json(
        changed=False,
        ansible_facts={"audit_report": report},
        msg=f"score {report['score']}: {counts}",
        not_passed=not_passed(findings),
    )


if __name__ == "__main__":
    main()
