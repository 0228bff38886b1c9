"""Typed records and inputs shared by every layer. Imports nothing of ours but errors."""

from pbdeployer.models.apps import App, AppCreate, AppFilter, AppStatus, AppUpdate, TlsMode
from pbdeployer.models.audit import (
    AuditFinding,
    AuditReport,
    AuditSummary,
    FindingStatus,
    Severity,
)
from pbdeployer.models.common import DEFAULT_PER_PAGE, MAX_PER_PAGE, Page, PageRequest, make_page
from pbdeployer.models.deployments import Deployment, DeploymentStatus
from pbdeployer.models.health import (
    ComponentHealth,
    ComponentState,
    HealthReport,
    HealthStatus,
    HealthSummary,
    ServerReachability,
)
from pbdeployer.models.ids import is_id, new_id
from pbdeployer.models.releases import ReleaseReport
from pbdeployer.models.servers import Server, ServerCreate, ServerFilter, ServerUpdate
from pbdeployer.models.units import LogLine, UnitStatus
from pbdeployer.models.versions import (
    StoredZip,
    Version,
    VersionCreate,
    VersionFilter,
    zip_address,
)

__all__ = [
    "DEFAULT_PER_PAGE",
    "MAX_PER_PAGE",
    "App",
    "AppCreate",
    "AppFilter",
    "AppStatus",
    "AppUpdate",
    "AuditFinding",
    "AuditReport",
    "AuditSummary",
    "ComponentHealth",
    "ComponentState",
    "Deployment",
    "DeploymentStatus",
    "FindingStatus",
    "HealthReport",
    "HealthStatus",
    "HealthSummary",
    "LogLine",
    "Page",
    "PageRequest",
    "ReleaseReport",
    "Server",
    "ServerCreate",
    "ServerFilter",
    "ServerReachability",
    "ServerUpdate",
    "Severity",
    "StoredZip",
    "TlsMode",
    "UnitStatus",
    "Version",
    "VersionCreate",
    "VersionFilter",
    "is_id",
    "make_page",
    "new_id",
    "zip_address",
]
