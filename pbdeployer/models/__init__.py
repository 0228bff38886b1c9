"""Typed records and inputs shared by every layer. Imports nothing of ours but errors."""

from pbdeployer.models.apps import App, AppCreate, AppFilter, AppStatus, AppUpdate
from pbdeployer.models.common import DEFAULT_PER_PAGE, MAX_PER_PAGE, Page, PageRequest, make_page
from pbdeployer.models.deployments import Deployment, DeploymentStatus
from pbdeployer.models.health import ComponentHealth, HealthReport, HealthStatus
from pbdeployer.models.ids import is_id, new_id
from pbdeployer.models.servers import Server, ServerCreate, ServerFilter, ServerUpdate
from pbdeployer.models.versions import Version, VersionCreate, VersionFilter

__all__ = [
    "DEFAULT_PER_PAGE",
    "MAX_PER_PAGE",
    "App",
    "AppCreate",
    "AppFilter",
    "AppStatus",
    "AppUpdate",
    "ComponentHealth",
    "Deployment",
    "DeploymentStatus",
    "HealthReport",
    "HealthStatus",
    "Page",
    "PageRequest",
    "Server",
    "ServerCreate",
    "ServerFilter",
    "ServerUpdate",
    "Version",
    "VersionCreate",
    "VersionFilter",
    "is_id",
    "make_page",
    "new_id",
]
