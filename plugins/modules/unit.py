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
  env_file: {description: Absolute path of the unit's EnvironmentFile to manage., type: str}
  env_content:
    description: Its text (root, 0600, directory 0700); empty removes the file. Run the task
      with no_log, since this module has no Ansible wrapper to hide it.
    type: str
author: pbdeployer
"""

UNIT_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\.service\Z")
UNIT_DIR = "/etc/systemd/system"
ENV_FILE = re.compile(r"(/[A-Za-z0-9_@+-][A-Za-z0-9_.@+-]*)+\.env\Z")


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


def write(path, content, mode=0o644):
    partial = path + ".partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), mode)  # the file may be left from a cut run
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def put_env(path, content, check):
    """Write or (content empty) remove the environment file; returns what was done."""
    if not content:
        if not os.path.exists(path):
            return []
        if not check:
            os.unlink(path)
        return [f"removed {path}"]
    if read(path) == content and (os.stat(path).st_mode & 0o777) == 0o600:
        return []
    if not check:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        write(path, content, 0o600)
    return [f"wrote {path}"]


def install(unit, content, enabled, check, env=None):
    """Returns (changed, what was done); ``env`` is (file, content) or None to leave it."""
    path = os.path.join(UNIT_DIR, unit)
    done = put_env(*env, check) if env else []
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
    env_file, env_content = raw.get("env_file"), raw.get("env_content") or ""
    env = None
    if env_file is not None:
        if not ENV_FILE.match(str(env_file)) or ".." in env_file or not isinstance(env_content, str):
            return {"failed": True, "msg": "env_file must be an absolute NAME.env path, with env_content"}
        env = (env_file, env_content)
    try:
        changed, done = install(unit, content, as_bool(raw.get("enabled", True)),
                                as_bool(raw.get("_ansible_check_mode")), env)  # fmt: skip
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
