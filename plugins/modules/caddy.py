#!/usr/bin/python
"""Change one Caddy config file only if the whole new configuration validates, then apply it.

Copies the main Caddyfile and every site into a scratch directory, makes the change there,
runs ``caddy validate`` on it, and only then writes the real file and reloads (or restarts)
Caddy. A reload Caddy refuses puts the old file back, so a bad site for one app never
reaches the running proxy. Standard library only and no Ansible wrapper: Ansible writes the
task's arguments (JSON) into ARGS_JSON below; ``python3 caddy.py args.json`` runs
it by hand.
"""

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ARGS_JSON = r"""<<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>"""

DOCUMENTATION = r"""
module: caddy
short_description: Write or remove a Caddy config file, validated as a whole before it is applied
options:
  file: {description: Caddyfile or sites/NAME.caddy, relative to config_dir., type: str, required: true}
  content: {description: The file's text (state=present)., type: str}
  state: {description: present or absent., type: str, default: present}
  apply: {description: reload, restart or none after a change., type: str, default: reload}
  config_dir: {description: Caddy's configuration directory., type: str, default: /etc/caddy}
  caddy: {description: The caddy executable., type: str, default: /usr/bin/caddy}
author: pbdeployer
"""

FILE = re.compile(r"(Caddyfile|sites/[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\.caddy)\Z")
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "SYSTEMD_PAGER": ""}


def command(argv, env=None, cwd=None):
    done = subprocess.run(argv, capture_output=True, text=True, env=env or ENV, cwd=cwd,
                          check=False, timeout=120)  # fmt: skip
    return done.returncode, (done.stdout + done.stderr).strip()


def read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def put(path, content):
    """Write (None: remove) ``path`` atomically, root-owned 0644."""
    if content is None:
        if os.path.exists(path):
            os.remove(path)
        return
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    partial = path + ".partial"
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(partial, 0o644)
    os.replace(partial, path)


def copy_config(config_dir, scratch):
    os.makedirs(os.path.join(scratch, "sites"))
    names = ["Caddyfile"]
    sites = os.path.join(config_dir, "sites")
    if os.path.isdir(sites):
        names += ["sites/" + n for n in sorted(os.listdir(sites)) if n.endswith(".caddy")]
    for name in names:
        if os.path.isfile(os.path.join(config_dir, name)):
            shutil.copyfile(os.path.join(config_dir, name), os.path.join(scratch, name))


def validate(caddy, config_dir, name, content):
    """The error Caddy gives for the configuration with the change made, or None."""
    scratch = tempfile.mkdtemp(prefix="pbdeployer-caddy-")
    try:
        config = os.path.join(scratch, "config")
        copy_config(config_dir, config)
        put(os.path.join(config, name), content)
        # A scratch HOME and XDG dirs: validating provisions TLS (an internal CA, ACME
        # accounts), which must not leave keys behind in root's home.
        env = dict(ENV, HOME=scratch, XDG_DATA_HOME=scratch, XDG_CONFIG_HOME=scratch)
        argv = [caddy, "validate", "--adapter", "caddyfile", "--config", "config/Caddyfile"]
        rc, out = command(argv, env=env, cwd=scratch)
        if rc == 0:
            return None
        errors = [line for line in out.splitlines() if not line.startswith("{")]
        return "\n".join(errors).replace(scratch + "/config/", "") or out
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def apply_change(apply):
    """Reload (start when stopped) or restart Caddy; returns (rc, output)."""
    if apply == "none":
        return 0, ""
    active = command(["systemctl", "is-active", "caddy.service"])[1] == "active"
    action = "reload" if apply == "reload" and active else "restart"
    return command(["systemctl", action, "caddy.service"])


def change(args, check):
    """Returns (changed, message); raises RuntimeError on a refused change. Held under a
    lock, so two apps' changes on one host are validated and applied one after the other."""
    os.makedirs(args["config_dir"], mode=0o755, exist_ok=True)
    with open(os.path.join(args["config_dir"], ".pbdeployer.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return change_locked(args, check)


def change_locked(args, check):
    path = os.path.join(args["config_dir"], args["file"])
    old = read(path)
    new = args["content"] if args["state"] == "present" else None
    if old == new:
        return False, f"{args['file']} is up to date"
    error = validate(args["caddy"], args["config_dir"], args["file"], new)
    if error:
        raise RuntimeError(f"caddy refused the configuration with {args['file']}: {error}")
    if check:
        return True, f"would {'write' if new is not None else 'remove'} {path}"
    put(path, new)
    rc, out = apply_change(args["apply"])
    if rc != 0:
        put(path, old)
        apply_change(args["apply"])
        raise RuntimeError(f"caddy did not take {args['file']} (put back the old one): {out}")
    return True, f"{'wrote' if new is not None else 'removed'} {path}; {args['apply']}"


def parse(raw):
    args = {
        "file": str(raw.get("file") or ""),
        "content": raw.get("content"),
        "state": raw.get("state") or "present",
        "apply": raw.get("apply") or "reload",
        "config_dir": raw.get("config_dir") or "/etc/caddy",
        "caddy": raw.get("caddy") or "/usr/bin/caddy",
    }
    if not FILE.match(args["file"]) or ".." in args["file"]:
        return None, f"file must be Caddyfile or sites/NAME.caddy, not {args['file']!r}"
    if args["state"] not in ("present", "absent") or args["apply"] not in (
        "reload", "restart", "none"):  # fmt: skip
        return None, "state must be present or absent, apply reload, restart or none"
    if args["state"] == "present" and not isinstance(args["content"], str):
        return None, "content must be the file's text"
    return args, None


def answer_for(raw):
    args, problem = parse(raw)
    if problem:
        return {"failed": True, "msg": problem}
    check = str(raw.get("_ansible_check_mode", "")).lower() in ("1", "true", "yes", "on")
    try:
        changed, msg = change(args, check)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        return {"failed": True, "msg": str(exc)}
    return {"changed": changed, "msg": msg}


def main(argv):
    if ARGS_JSON.startswith("<<"):
        with open(argv[1], encoding="utf-8") as handle:
            raw = json.load(handle)
    else:
        raw = json.loads(ARGS_JSON)
    sys.stdout.write(json.dumps(answer_for(raw)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
