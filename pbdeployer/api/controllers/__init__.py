"""One controller per resource; each handler parses, calls one service method, returns a model."""

from pbdeployer.api.controllers.apps import AppController
from pbdeployer.api.controllers.deployments import AppDeploymentController, DeploymentController
from pbdeployer.api.controllers.health import HealthController
from pbdeployer.api.controllers.maintenance import MaintenanceController
from pbdeployer.api.controllers.operations import (
    SecurityController,
    ServicesController,
    SetupController,
)
from pbdeployer.api.controllers.reference import ReferenceController
from pbdeployer.api.controllers.servers import ServerController
from pbdeployer.api.controllers.tasks import TaskController
from pbdeployer.api.controllers.versions import VersionController

__all__ = [
    "AppController",
    "AppDeploymentController",
    "DeploymentController",
    "HealthController",
    "MaintenanceController",
    "ReferenceController",
    "SecurityController",
    "ServerController",
    "ServicesController",
    "SetupController",
    "TaskController",
    "VersionController",
]
