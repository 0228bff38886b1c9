"""The environment ansible-playbook runs in: SSH settings, speed settings, nothing inherited.

Everything is set through ``ANSIBLE_*`` variables (written to ``env/envvars`` so a run can be
repeated by hand), and ``ANSIBLE_CONFIG`` points at the run's own empty config so no
``ansible.cfg`` of the machine or the user changes behaviour. The process environment is
reduced to an allow-list, which keeps unrelated secrets (API tokens, database URLs) out of
Ansible and out of the ``command`` artifact ansible-runner writes.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pbdeployer.models.run import RunCredentials
from pbdeployer.runner._procs import MARKER
from pbdeployer.settings import Settings

# Room for ssh's "<ControlPath>.<16 random chars>" temp name inside sun_path (108 bytes).
_CONTROL_DIR_MAX = 78
_PASS_THROUGH = {"HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "SHELL"}
# Variables ansible-runner sets itself in RunnerConfig.prepare_env().
_RUNNER_KEYS = {
    "ANSIBLE_CALLBACK_PLUGINS",
    "ANSIBLE_STDOUT_CALLBACK",
    "ORIGINAL_STDOUT_CALLBACK",
    "ANSIBLE_RETRY_FILES_ENABLED",
    "ANSIBLE_HOST_KEY_CHECKING",
    "AWX_ISOLATED_DATA_DIR",
    "ANSIBLE_CACHE_PLUGIN",
    "ANSIBLE_CACHE_PLUGIN_CONNECTION",
    "RUNNER_OMIT_EVENTS",
    "RUNNER_ONLY_FAILED_EVENTS",
}


def control_dir(settings: Settings) -> Path:
    """A short directory for SSH control sockets, shared by runs so connections stay warm.

    ``<data_dir>/cp`` when its path is short enough for a socket name; otherwise a private
    directory in the temp dir named after the data dir.
    """
    preferred = settings.data_dir.resolve() / "cp"
    if len(str(preferred)) <= _CONTROL_DIR_MAX:
        return _private_dir(preferred)
    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:12]
    return _private_dir(Path(tempfile.gettempdir()) / f"pbdeployer-cp-{os.getuid()}-{digest}")


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if path.is_symlink() or info.st_uid != os.getuid() or info.st_mode & 0o077:
        msg = f"{path} must be a directory owned by this user with mode 0700"
        raise PermissionError(msg)
    return path


def ssh_args(settings: Settings) -> str:
    """Options for every ssh call: multiplexing, strict-but-first-use host keys, no prompts."""
    options = [
        "ControlMaster=auto",
        "ControlPersist=60s",
        "BatchMode=yes",
        "StrictHostKeyChecking=accept-new",
        f"UserKnownHostsFile={settings.known_hosts_file.resolve()}",
        "GlobalKnownHostsFile=/dev/null",
        f"ServerAliveInterval={settings.ssh_keepalive_seconds}",
        "ServerAliveCountMax=4",
    ]
    return " ".join(f"-o {shlex.quote(option)}" for option in options)


# Filters name a module, not cryptography's warning class: Python reads PYTHONWARNINGS before
# it can import a third-party category, and drops such a filter with a message of its own.
_QUIET_WARNINGS = "ignore::UserWarning:ansible._internal._ssh._ssh_agent"


def ansible_env(
    settings: Settings,
    *,
    run_id: str,
    run_dir: Path,
    control: Path,
    credentials: RunCredentials,
    use_agent: bool,
) -> dict[str, str]:
    """The variables pbdeployer sets for one run (ansible-runner adds its own on top)."""
    env = {
        MARKER: run_id,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "ANSIBLE_CONFIG": str(run_dir / "env" / "ansible.cfg"),
        "ANSIBLE_LOCAL_TEMP": str(run_dir / "tmp"),
        "ANSIBLE_CALLBACK_PLUGINS": "",
        "ANSIBLE_STDOUT_CALLBACK": "default",
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_SSH_ARGS": ssh_args(settings),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control),
        "ANSIBLE_SSH_RETRIES": "0",
        "ANSIBLE_TIMEOUT": str(settings.ssh_connect_timeout_seconds),
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_GATHERING": "explicit",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOWS": "True",
        "ANSIBLE_NOCOLOR": "True",
        "ANSIBLE_FORCE_COLOR": "False",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_SYSTEM_WARNINGS": "False",
        "PYTHONUNBUFFERED": "1",
        # ansible-core imports cryptography's deprecated DSA API; the warning it prints would
        # reach every run's output as events that say nothing about the run.
        "PYTHONWARNINGS": _QUIET_WARNINGS,
    }
    env["ANSIBLE_COLLECTIONS_PATH"] = collections_path(run_dir, os.environ)
    if use_agent and credentials.ssh_auth_sock:
        env["SSH_AUTH_SOCK"] = credentials.ssh_auth_sock
    return env


def collections_path(run_dir: Path, environ: Mapping[str, str]) -> str:
    """Our collection first, so a different pbdeployer.pocketbase a user installed never wins;
    the user's own paths after it, for collections their inventory or plugins need."""
    given = environ.get("ANSIBLE_COLLECTIONS_PATH") or environ.get("ANSIBLE_COLLECTIONS_PATHS")
    return os.pathsep.join([str(run_dir / "collections"), *([given] if given else [])])


def reduce_environment(full: Mapping[str, str], ours: Mapping[str, str]) -> dict[str, str]:
    """Keep our variables, ansible-runner's own, and a short allow-list of the process's."""
    return {
        key: value
        for key, value in full.items()
        if key in ours or key in _RUNNER_KEYS or key in _PASS_THROUGH or key.startswith("LC_")
    }
