"""Typed variables for each role, kept equal to the role's ``meta/argument_specs.yml``.

Every field defaults to UNSET and unset fields are left out of the extravars, so the role's
own defaults (some of them templates such as ``user_group: "{{ user_name }}"``) apply.
A unit test compares each struct with its role's specs.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType


class RoleVars(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Base of every role's variables."""

    def extravars(self) -> dict[str, Any]:
        values: dict[str, Any] = msgspec.to_builtins(self)
        return values


class UserVars(RoleVars, frozen=True, kw_only=True, omit_defaults=True):
    user_name: str | UnsetType = UNSET
    user_group: str | UnsetType = UNSET
    user_home: str | UnsetType = UNSET
    user_shell: str | UnsetType = UNSET
    user_authorized_keys: list[str] | UnsetType = UNSET
    user_copy_root_keys: bool | UnsetType = UNSET
    user_replace_keys: bool | UnsetType = UNSET
    user_sudo: bool | UnsetType = UNSET


class PackagesVars(RoleVars, frozen=True, kw_only=True, omit_defaults=True):
    packages_cache_valid_time: int | UnsetType = UNSET
    packages_default: list[str] | UnsetType = UNSET
    packages_extra: list[str] | UnsetType = UNSET


class LockdownVars(RoleVars, frozen=True, kw_only=True, omit_defaults=True):
    lockdown_app_user: str | UnsetType = UNSET
    lockdown_app_user_key_file: str | UnsetType = UNSET
    lockdown_allow_users: list[str] | UnsetType = UNSET
    lockdown_max_auth_tries: int | UnsetType = UNSET
    lockdown_ssh_port: int | UnsetType = UNSET
    lockdown_extra_ports: list[int | str] | UnsetType = UNSET
    lockdown_fail2ban_maxretry: int | UnsetType = UNSET
    lockdown_fail2ban_findtime: int | UnsetType = UNSET
    lockdown_fail2ban_bantime: int | UnsetType = UNSET
    lockdown_fail2ban_ignoreip: list[str] | UnsetType = UNSET
    lockdown_fail2ban_ignore_controller: bool | UnsetType = UNSET
    lockdown_sshd: bool | UnsetType = UNSET
    lockdown_firewall: bool | UnsetType = UNSET
    lockdown_fail2ban: bool | UnsetType = UNSET
    lockdown_unattended_upgrades: bool | UnsetType = UNSET
    lockdown_sshd_crypto: bool | UnsetType = UNSET
    lockdown_sshd_forwarding: bool | UnsetType = UNSET
    lockdown_sshd_client_alive_interval: int | UnsetType = UNSET
    lockdown_sshd_login_grace_time: int | UnsetType = UNSET
    lockdown_sshd_log_level: str | UnsetType = UNSET
    lockdown_sshd_compression: bool | UnsetType = UNSET
    lockdown_sshd_per_source_max_startups: int | UnsetType = UNSET
    lockdown_ssh_rate_limit: int | UnsetType = UNSET
    lockdown_sysctl: bool | UnsetType = UNSET
    lockdown_file_modes: bool | UnsetType = UNSET
    lockdown_umask: str | UnsetType = UNSET
    lockdown_core_dumps_off: bool | UnsetType = UNSET
    lockdown_blacklisted_protocols: list[str] | UnsetType = UNSET
    lockdown_sshd_add_include: bool | UnsetType = UNSET


class AuditApp(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    path: str
    user: str
    domain: str = ""
    tls: str = "acme"


class AuditVars(RoleVars, frozen=True, kw_only=True, omit_defaults=True):
    audit_app_user: str | UnsetType = UNSET
    audit_apps: list[AuditApp] | UnsetType = UNSET
    audit_expected_ports: list[int] | UnsetType = UNSET
    audit_max_auth_tries: int | UnsetType = UNSET
    audit_min_score: int | UnsetType = UNSET
    audit_fail_on_findings: bool | UnsetType = UNSET


class ServiceVars(RoleVars, frozen=True, kw_only=True, omit_defaults=True):
    service_name: str | UnsetType = UNSET
    service_description: str | UnsetType = UNSET
    service_user: str | UnsetType = UNSET
    service_group: str | UnsetType = UNSET
    service_working_dir: str | UnsetType = UNSET
    service_binary: str | UnsetType = UNSET
    service_port: int | UnsetType = UNSET
    service_exec: str | UnsetType = UNSET
    service_exec_reload: str | UnsetType = UNSET
    service_env: dict[str, str] | UnsetType = UNSET
    service_start_limit_interval_sec: int | UnsetType = UNSET
    service_start_limit_burst: int | UnsetType = UNSET
    service_sandbox: bool | UnsetType = UNSET
    service_state: str | UnsetType = UNSET
    service_enabled: bool | UnsetType = UNSET
    service_action: str | UnsetType = UNSET
    service_read: str | UnsetType = UNSET
    service_logs_lines: int | UnsetType = UNSET
    service_logs_since: str | UnsetType = UNSET


class AppReleaseVars(RoleVars, frozen=True, kw_only=True, omit_defaults=True):
    app_release_name: str | UnsetType = UNSET
    app_release_user: str | UnsetType = UNSET
    app_release_group: str | UnsetType = UNSET
    app_release_path: str | UnsetType = UNSET
    app_release_binary: str | UnsetType = UNSET
    app_release_port: int | UnsetType = UNSET
    app_release_release: str | UnsetType = UNSET
    app_release_version_id: str | UnsetType = UNSET
    app_release_zip_src: str | UnsetType = UNSET
    app_release_zip_sha256: str | UnsetType = UNSET
    app_release_deployment_id: str | UnsetType = UNSET
    app_release_mode: str | UnsetType = UNSET
    app_release_health_timeout: float | UnsetType = UNSET
    app_release_health_interval: float | UnsetType = UNSET
    app_release_keep_releases: int | UnsetType = UNSET
    app_release_keep_snapshots: int | UnsetType = UNSET
    app_release_fail_when_rolled_back: bool | UnsetType = UNSET
    app_release_restore_snapshot: str | UnsetType = UNSET
    app_release_recover_target: str | UnsetType = UNSET
    app_release_recover_drop: str | UnsetType = UNSET


class ProxyVars(RoleVars, frozen=True, kw_only=True, omit_defaults=True):
    proxy_install: bool | UnsetType = UNSET
    proxy_acme_email: str | UnsetType = UNSET
    proxy_acme_ca: str | UnsetType = UNSET
    proxy_site_name: str | UnsetType = UNSET
    proxy_site_domain: str | UnsetType = UNSET
    proxy_site_port: int | UnsetType = UNSET
    proxy_site_tls: str | UnsetType = UNSET
    proxy_site_state: str | UnsetType = UNSET
    proxy_site_health_path: str | UnsetType = UNSET
    proxy_site_health_timeout: int | UnsetType = UNSET


ROLE_VARS: dict[str, type[RoleVars]] = {
    "user": UserVars,
    "packages": PackagesVars,
    "lockdown": LockdownVars,
    "audit": AuditVars,
    "service": ServiceVars,
    "app_release": AppReleaseVars,
    "proxy": ProxyVars,
}
