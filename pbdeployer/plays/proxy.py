"""Proxy: Caddy on the server, and each app's site from its domain to its loopback port.

An app without a domain has no site and stays loopback-only. Every site change is checked by
Caddy against the whole configuration before a reload (roles/proxy), so one app's site can
never take down another's.
"""

from __future__ import annotations

import msgspec

from pbdeployer.errors import InvalidInput
from pbdeployer.models import App
from pbdeployer.models.run import PlaybookInvocation
from pbdeployer.plays.role_vars import ProxyVars

HEALTH_PATH = "/api/health"


def install_vars(acme_email: str | None) -> ProxyVars:
    return ProxyVars(proxy_install=True, proxy_acme_email=acme_email or "")


def site_vars(app: App) -> ProxyVars:
    """The app's site as it should be: present with a domain, absent without one."""
    if not app.domain:
        return removal_vars(app)
    return ProxyVars(
        proxy_site_name=app.service_name,
        proxy_site_domain=app.domain,
        proxy_site_port=app.http_port,
        proxy_site_tls=app.tls.value,
        proxy_site_state="present",
    )


def removal_vars(app: App) -> ProxyVars:
    return ProxyVars(proxy_site_name=app.service_name, proxy_site_state="absent")


def served_site_vars(app: App, acme_email: str | None, health_timeout: int) -> ProxyVars:
    """Caddy installed, the app's site written, and the app checked through it: what a deploy
    or rollback of an app with a domain ends with."""
    return msgspec.structs.replace(
        site_vars(app),
        proxy_install=True,
        proxy_acme_email=acme_email or "",
        proxy_site_health_path=HEALTH_PATH,
        proxy_site_health_timeout=max(1, health_timeout),
    )


def install(acme_email: str | None) -> PlaybookInvocation:
    """Caddy and its main configuration, no site touched."""
    return PlaybookInvocation(playbook="proxy.yml", extravars=install_vars(acme_email).extravars())


def site(app: App, acme_email: str | None, health_timeout: int = 30) -> PlaybookInvocation:
    """Install (or keep) Caddy, write the app's site for its domain and check it there."""
    if not app.domain:
        raise InvalidInput.single("domain", "the app has no domain, so it has no site")
    variables = served_site_vars(app, acme_email, health_timeout)
    return PlaybookInvocation(playbook="proxy.yml", extravars=variables.extravars())


def remove_site(app: App) -> PlaybookInvocation:
    """Take the app's site away, leaving Caddy and the other sites as they are."""
    extravars = removal_vars(app).extravars() | {"proxy_install": False}
    return PlaybookInvocation(playbook="proxy.yml", extravars=extravars)
