#!/usr/bin/python
"""Write a systemd unit file, reload systemd when it changed, and set start at boot.

The fast path of service_state=installed, run on every deploy: one call instead of template
(two module runs) and systemd_service. Standard library only and no Ansible wrapper: Ansible
writes the task's arguments (JSON) into ARGS_JSON below and pipes this file to python3.
``python3 unit.py args.json`` runs it by hand. Never starts or restarts the unit.
"""

import json
import os
import re
import subprocess
import sys

ARGS_JSON = r"""<<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>"""

DOCUMENTATION = r"""
module: unit
short_description: Install a systemd unit file without starting it
description:
  - Writes /etc/systemd/system/<unit> (root, 0644) when its content differs, runs
    systemctl daemon-reload then, and enables or disables the unit (without --now).
options:
  unit: {description: Unit file name (with .service)., type: str, required: true}
  content: {description: The unit file's text., type: str, required: true}
  enabled: {description: Start the unit at boot., type: bool, default: true}
author: pbdeployer
"""

UNIT_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\.service\Z")
UNIT_DIR = "/etc/systemd/system"


def as_bool(value):
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def systemctl(*args):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "SYSTEMD_PAGER": ""}
    done = subprocess.run(["systemctl", *args], capture_output=True, text=True, env=env,
                          check=False)  # fmt: skip
    return done.returncode, (done.stdout + done.stderr).strip()


def read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def write(path, content):
    partial = path + ".partial"
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(partial, 0o644)
    os.replace(partial, path)


def install(unit, content, enabled, check):
    """Returns (changed, what was done)."""
    path = os.path.join(UNIT_DIR, unit)
    done = []
    if read(path) != content:
        done.append(f"wrote {path}")
        if not check:
            write(path, content)
            rc, out = systemctl("daemon-reload")
            if rc != 0:
                raise RuntimeError(f"systemctl daemon-reload: {out}")
    state = systemctl("is-enabled", unit)[1] if os.path.exists(path) else "missing"
    if (state == "enabled") != enabled:
        done.append(("enabled " if enabled else "disabled ") + unit)
        if not check:
            rc, out = systemctl("enable" if enabled else "disable", unit)
            if rc != 0:
                raise RuntimeError(f"systemctl {'enable' if enabled else 'disable'}: {out}")
    return bool(done), done


def answer_for(raw):
    unit, content = str(raw.get("unit") or ""), raw.get("content")
    if not UNIT_FILE.match(unit) or ".." in unit:
        return {"failed": True, "msg": f"unit must be a plain NAME.service, not {unit!r}"}
    if not isinstance(content, str) or not content.strip():
        return {"failed": True, "msg": "content must be the unit file's text"}
    try:
        changed, done = install(unit, content, as_bool(raw.get("enabled", True)),
                                as_bool(raw.get("_ansible_check_mode")))  # fmt: skip
    except (OSError, RuntimeError) as exc:
        return {"failed": True, "msg": str(exc)}
    return {"changed": changed, "msg": "; ".join(done) or f"{unit} is up to date"}


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
