"""Setup: the app user (``user`` role) and base packages (``packages`` role)."""

from __future__ import annotations

from collections.abc import Sequence

from pbdeployer.models import Server
from pbdeployer.models.run import PlaybookInvocation
from pbdeployer.plays.proxy import install_vars
from pbdeployer.plays.role_vars import PackagesVars, UserVars


def user_vars(server: Server) -> UserVars:
    """The app user gets root's authorized keys, so the key that set it up logs in as it."""
    return UserVars(user_name=server.app_username, user_copy_root_keys=True, user_sudo=True)


def packages_vars(extra_packages: Sequence[str] = ()) -> PackagesVars:
    return PackagesVars(packages_extra=list(extra_packages))


def setup(
    server: Server,
    extra_packages: Sequence[str] = (),
    *,
    proxy: bool = False,
    acme_email: str | None = None,
) -> PlaybookInvocation:
    """With ``proxy``, Caddy is installed too (no site is written)."""
    extravars = user_vars(server).extravars() | packages_vars(extra_packages).extravars()
    extravars |= install_vars(acme_email).extravars() if proxy else {"proxy_install": False}
    return PlaybookInvocation(playbook="setup.yml", extravars=extravars)


def setup_user(server: Server) -> PlaybookInvocation:
    return PlaybookInvocation(playbook="user.yml", extravars=user_vars(server).extravars())


def setup_packages(extra_packages: Sequence[str] = ()) -> PlaybookInvocation:
    extravars = packages_vars(extra_packages).extravars()
    return PlaybookInvocation(playbook="packages.yml", extravars=extravars)
