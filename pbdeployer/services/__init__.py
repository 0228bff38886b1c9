"""Use cases: what the library and the API can do, each validated the same way."""

from pbdeployer.services.app_env import AppEnvironment
from pbdeployer.services.app_removal import AppRemoval
from pbdeployer.services.apps import AppService
from pbdeployer.services.artifacts import RejectCode, VersionZips, ZipPolicy, ZipSource
from pbdeployer.services.data_dir import DataDirLock, make_private
from pbdeployer.services.deployments import DeploymentService
from pbdeployer.services.health import HealthService
from pbdeployer.services.operations import AuditWithAge, HostTasks
from pbdeployer.services.proxy import ProxySites
from pbdeployer.services.releases import ReleaseHandlers
from pbdeployer.services.retention import RetentionService
from pbdeployer.services.runs import EventCallback, HostRuns
from pbdeployer.services.sealing import SecretBox
from pbdeployer.services.security import SecurityService
from pbdeployer.services.servers import ServerService
from pbdeployer.services.service import ServiceControl
from pbdeployer.services.setup import SetupService
from pbdeployer.services.task_runner import InProcessTaskQueue
from pbdeployer.services.tasks import (
    MUTATING_KINDS,
    OperationHandlers,
    TaskContext,
    TaskHandler,
    TaskQueue,
    TaskRuns,
)
from pbdeployer.services.tokens import MIN_TOKEN_LENGTH, check_token, load_or_create_token
from pbdeployer.services.versions import VersionService

__all__ = [
    "MIN_TOKEN_LENGTH",
    "MUTATING_KINDS",
    "AppEnvironment",
    "AppRemoval",
    "AppService",
    "AuditWithAge",
    "DataDirLock",
    "DeploymentService",
    "EventCallback",
    "HealthService",
    "HostRuns",
    "HostTasks",
    "InProcessTaskQueue",
    "OperationHandlers",
    "ProxySites",
    "RejectCode",
    "ReleaseHandlers",
    "RetentionService",
    "SecretBox",
    "SecurityService",
    "ServerService",
    "ServiceControl",
    "SetupService",
    "TaskContext",
    "TaskHandler",
    "TaskQueue",
    "TaskRuns",
    "VersionService",
    "VersionZips",
    "ZipPolicy",
    "ZipSource",
    "check_token",
    "load_or_create_token",
    "make_private",
]
