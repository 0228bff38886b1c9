"""Deploy, rollback and recover: the ``app_release`` role's three playbooks.

Each run ends with the fact ``app_release_result`` (a ``ReleaseReport``), also when the step
failed. ``DEPLOY_STEPS`` maps the playbooks' task names to progress; ``SWITCH_TASK`` is the one
step during which ``current`` may change, so a run cut short before it switched nothing.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import msgspec

from pbdeployer.errors import InvalidInput
from pbdeployer.models import App, Server, Version
from pbdeployer.models.app_env import EnvValues
from pbdeployer.models.run import PlaybookInvocation
from pbdeployer.plays.app_env import private
from pbdeployer.plays.proxy import served_site_vars
from pbdeployer.plays.role_vars import AppReleaseVars, ProxyVars

RELEASE_FACT = "app_release_result"
SWITCH_TASK = "Snapshot the data, switch to the release and check its health"
RECOVER_TASK = "Clean up and end on the target release"
DEPLOY_STEPS: dict[str, tuple[int, str]] = {
    "Put the release on the host": (10, "upload+unpack"),
    "Write the systemd unit": (60, "unit"),
    SWITCH_TASK: (70, "snapshot+switch+health+prune"),
    RECOVER_TASK: (70, "recover"),
    "Return the result as app_release_result": (95, "report"),
}


class DeployOptions(msgspec.Struct, frozen=True, kw_only=True):
    health_timeout: float = 30.0
    health_interval: float = 0.2
    keep_releases: int = 5
    keep_snapshots: int = 5
    acme_email: str | None = None


def release_name(version: Version) -> str:
    """The directory under ``releases/``: the version label (validated when created)."""
    return version.version_number


def deploy(
    app: App,
    server: Server,
    version: Version,
    zip_path: Path,
    deployment_id: str,
    options: DeployOptions,
    env: EnvValues | None = None,
) -> PlaybookInvocation:
    """Put ``version`` live; ``zip_path`` (absolute, on this machine) is sent if needed.
    ``env`` (the app's variables) is written with the unit; None leaves the host's file."""
    variables = _release_vars(app, server, version, zip_path, deployment_id, options)
    return _invocation(
        "deploy.yml",
        msgspec.structs.replace(variables, app_release_mode="deploy"),
        _site(app, options),
        env,
    )


def rollback(
    app: App,
    server: Server,
    version: Version,
    zip_path: Path,
    deployment_id: str,
    options: DeployOptions,
    restore_snapshot: str | None,
    env: EnvValues | None = None,
) -> PlaybookInvocation:
    """Switch back to ``version``; ``restore_snapshot`` names the deployment whose snapshot
    (``backups/<id>/``, or that path as a report gave it) replaces pb_data."""
    variables = msgspec.structs.replace(
        _release_vars(app, server, version, zip_path, deployment_id, options),
        app_release_mode="rollback",
        app_release_restore_snapshot=PurePosixPath(restore_snapshot).name
        if restore_snapshot
        else "",
    )
    return _invocation("rollback.yml", variables, _site(app, options), env)


def recover(
    app: App,
    server: Server,
    deployment_id: str,
    target: str | None,
    drop: str | None,
    options: DeployOptions,
) -> PlaybookInvocation:
    """After a cancel or a controller crash: end on release ``target`` (None: keep a healthy
    current or stop the app) and remove release ``drop`` unless it ends up current."""
    variables = msgspec.structs.replace(
        _app_vars(app, server, options),
        app_release_mode="recover",
        app_release_deployment_id=deployment_id,
        app_release_recover_target=target or "",
        app_release_recover_drop=drop or "",
    )
    return _invocation("recover.yml", variables)


def _app_vars(app: App, server: Server, options: DeployOptions) -> AppReleaseVars:
    return AppReleaseVars(
        app_release_name=app.service_name,
        app_release_user=server.app_username,
        app_release_path=app.remote_path,
        app_release_binary=app.binary_name,
        app_release_port=app.http_port,
        app_release_health_timeout=options.health_timeout,
        app_release_health_interval=options.health_interval,
        app_release_keep_releases=options.keep_releases,
        app_release_keep_snapshots=options.keep_snapshots,
    )


def _release_vars(
    app: App,
    server: Server,
    version: Version,
    zip_path: Path,
    deployment_id: str,
    options: DeployOptions,
) -> AppReleaseVars:
    if not version.zip_sha256:
        raise InvalidInput.single("version_id", "the version has no uploaded zip")
    return msgspec.structs.replace(
        _app_vars(app, server, options),
        app_release_release=release_name(version),
        app_release_version_id=version.id,
        app_release_zip_src=str(zip_path),
        app_release_zip_sha256=version.zip_sha256,
        app_release_deployment_id=deployment_id,
        # The service reads the rollback from app_release_result; a failed play means the
        # run itself went wrong.
        app_release_fail_when_rolled_back=False,
    )


def _site(app: App, options: DeployOptions) -> ProxyVars | None:
    """With a domain, the run also writes the app's site and checks the app through it."""
    if not app.domain:
        return None
    return served_site_vars(app, options.acme_email, round(options.health_timeout))


def _invocation(
    playbook: str,
    variables: AppReleaseVars,
    site: ProxyVars | None = None,
    env: EnvValues | None = None,
) -> PlaybookInvocation:
    extravars = variables.extravars() | (site.extravars() if site else {})
    return PlaybookInvocation(
        playbook=playbook,
        extravars=extravars,
        result_facts=(RELEASE_FACT,),
        **(private(env) if env is not None else {}),
    )
