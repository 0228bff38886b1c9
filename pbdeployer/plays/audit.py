"""Audit: a read-only look at the host's security, returned as structured findings."""

from __future__ import annotations

from collections.abc import Sequence

from pbdeployer.models import App, Server
from pbdeployer.models.run import PlaybookInvocation
from pbdeployer.plays.role_vars import AuditApp, AuditVars

AUDIT_REPORT_FACT = "audit_report"


def audit(server: Server, apps: Sequence[App] = ()) -> PlaybookInvocation:
    variables = AuditVars(
        audit_app_user=server.app_username,
        audit_apps=[
            AuditApp(
                name=app.name,
                path=app.remote_path,
                user=server.app_username,
                domain=app.domain or "",
                tls=app.tls.value,
            )
            for app in apps
        ],
        audit_expected_ports=sorted({22, 80, 443, server.port}),
    )
    return PlaybookInvocation(
        playbook="audit.yml", extravars=variables.extravars(), result_facts=(AUDIT_REPORT_FACT,)
    )
