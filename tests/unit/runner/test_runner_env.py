"""The run environment: SSH settings, the control socket dir, and what is not passed on."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from pbdeployer.models.run import RunCredentials
from pbdeployer.runner._env import ansible_env, control_dir, reduce_environment, ssh_args
from pbdeployer.settings import Settings

SOCKET_PATH_MAX = 107  # sun_path holds 108 bytes with the terminating NUL


def env_for(
    settings: Settings, *, use_agent: bool = False, sock: str | None = None
) -> dict[str, str]:
    return ansible_env(
        settings, run_id="01RUN", run_dir=settings.runs_dir / "01RUN", control=Path("/cp"),
        credentials=RunCredentials(ssh_auth_sock=sock), use_agent=use_agent,
    )  # fmt: skip


def test_short_data_dir_keeps_sockets_inside(tmp_path: Path) -> None:
    path = control_dir(Settings(data_dir=tmp_path / "d"))
    assert path == (tmp_path / "d" / "cp").resolve()
    assert path.stat().st_mode & 0o777 == 0o700


def test_long_data_dir_falls_back_to_a_short_private_dir(tmp_path: Path) -> None:
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    settings = Settings(data_dir=deep)
    path = control_dir(settings)
    assert not str(path).startswith(str(deep))
    # ansible names sockets with 10 hex chars; ssh adds ".<16 chars>" while creating them.
    assert len(str(path)) + 1 + 10 + 17 <= SOCKET_PATH_MAX
    assert path.stat().st_uid == os.getuid()
    assert path.stat().st_mode & 0o777 == 0o700
    assert control_dir(settings) == path


def test_control_dir_refuses_a_dir_others_can_use(tmp_path: Path) -> None:
    shared = tmp_path / "d" / "cp"
    shared.mkdir(parents=True)
    shared.chmod(0o777)
    with pytest.raises(PermissionError):
        control_dir(Settings(data_dir=tmp_path / "d"))


def test_ssh_args_pin_known_hosts_and_multiplex(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "with space")
    args = shlex.split(ssh_args(settings))
    options = dict(a.split("=", 1) for a in args if a != "-o")
    assert options["UserKnownHostsFile"] == str(settings.known_hosts_file.resolve())
    assert options["StrictHostKeyChecking"] == "accept-new"
    assert options["ControlMaster"] == "auto"
    assert options["ControlPersist"] == "60s"
    assert options["BatchMode"] == "yes"


def test_speed_and_safety_settings(tmp_path: Path) -> None:
    env = env_for(Settings(data_dir=tmp_path, ssh_connect_timeout_seconds=4))
    assert env["ANSIBLE_PIPELINING"] == "True"
    assert env["ANSIBLE_GATHERING"] == "explicit"
    assert env["ANSIBLE_HOST_KEY_CHECKING"] == "True"
    assert env["ANSIBLE_RETRY_FILES_ENABLED"] == "False"
    assert env["ANSIBLE_NOCOWS"] == "True"
    assert env["ANSIBLE_TIMEOUT"] == "4"
    assert env["PBDEPLOYER_RUN_ID"] == "01RUN"
    assert env["ANSIBLE_CONFIG"].endswith("01RUN/env/ansible.cfg")


def test_agent_socket_only_when_a_server_uses_it(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert "SSH_AUTH_SOCK" not in env_for(settings, use_agent=False, sock="/run/agent.sock")
    assert env_for(settings, use_agent=True, sock="/run/agent.sock")["SSH_AUTH_SOCK"] == (
        "/run/agent.sock"
    )


def test_process_secrets_are_not_passed_on(tmp_path: Path) -> None:
    ours = env_for(Settings(data_dir=tmp_path))
    full = {
        **ours,
        "PBDEPLOYER_API_TOKEN": "secret-token",
        "DATABASE_URL": "postgresql://u:pw@db/x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "SSH_AUTH_SOCK": "/tmp/someone-elses-agent",
        "ANSIBLE_VAULT_PASSWORD_FILE": "/secret",
        "ANSIBLE_STDOUT_CALLBACK": "awx_display",
        "AWX_ISOLATED_DATA_DIR": "/artifacts",
        "HOME": "/root",
        "LC_ALL": "C.UTF-8",
    }
    kept = reduce_environment(full, ours)
    for secret in ("PBDEPLOYER_API_TOKEN", "DATABASE_URL", "AWS_SECRET_ACCESS_KEY",
                   "SSH_AUTH_SOCK", "ANSIBLE_VAULT_PASSWORD_FILE"):  # fmt: skip
        assert secret not in kept
    assert kept["ANSIBLE_STDOUT_CALLBACK"] == "awx_display"
    assert kept["AWX_ISOLATED_DATA_DIR"] == "/artifacts"
    assert kept["HOME"] == "/root"
    assert kept["LC_ALL"] == "C.UTF-8"
    assert kept["ANSIBLE_SSH_ARGS"] == ours["ANSIBLE_SSH_ARGS"]


def test_credentials_from_environ() -> None:
    assert RunCredentials.from_environ({"SSH_AUTH_SOCK": "/a"}).ssh_auth_sock == "/a"
    assert RunCredentials.from_environ({"SSH_AUTH_SOCK": ""}).ssh_auth_sock is None
    assert RunCredentials.from_environ({}).ssh_auth_sock is None


def test_our_collection_comes_first_and_the_users_paths_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path / "d")
    monkeypatch.delenv("ANSIBLE_COLLECTIONS_PATHS", raising=False)
    monkeypatch.delenv("ANSIBLE_COLLECTIONS_PATH", raising=False)
    ours = str(settings.runs_dir / "01RUN" / "collections")
    assert env_for(settings)["ANSIBLE_COLLECTIONS_PATH"] == ours
    monkeypatch.setenv("ANSIBLE_COLLECTIONS_PATH", "/opt/theirs")
    assert env_for(settings)["ANSIBLE_COLLECTIONS_PATH"] == f"{ours}:/opt/theirs"
    assert "ANSIBLE_ROLES_PATH" not in env_for(settings)
