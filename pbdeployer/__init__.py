"""pbdeployer: deploy PocketBase apps to your own Linux servers over SSH.

>>> async with Deployer.open() as deployer:
...     server = await deployer.servers.create(ServerCreate(name="web1", host="203.0.113.7"))

Everything a library user needs is importable from here; the submodules are the
implementation (their names may change between releases). Names are imported on first use,
so tools that need one submodule (the CLI's ``--version``, the test-host helpers) don't pay
for the database and web stack.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import version as _version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pbdeployer.deployer import (
        Deployer,
    )
    from pbdeployer.errors import (
        ArtifactRejected,
        Conflict,
        DataDirLocked,
        DeploymentLocked,
        FieldProblem,
        HostKeyChanged,
        HostUnreachable,
        InvalidInput,
        NotFound,
        PayloadTooLarge,
        PbDeployerError,
        ReadOnlyDeployer,
        ReleaseFailed,
        RunCancelled,
        RunError,
        RunFailed,
        RunTimeout,
        StorageFull,
        UnsafeSetting,
        WrongEventLoop,
    )
    from pbdeployer.models import (
        App,
        AppCreate,
        AppFilter,
        AppStatus,
        AppUpdate,
        AuditFinding,
        AuditReport,
        Deployment,
        DeploymentStatus,
        FindingStatus,
        HealthReport,
        LogLine,
        Page,
        PageRequest,
        Server,
        ServerCreate,
        ServerFilter,
        ServerUpdate,
        Severity,
        TlsMode,
        UnitStatus,
        Version,
        VersionCreate,
        VersionFilter,
    )
    from pbdeployer.models.deployments import (
        DeploymentFilter,
        DeploymentState,
        DeploymentStats,
    )
    from pbdeployer.models.run import (
        RunEvent,
        RunOutcome,
        RunResult,
    )
    from pbdeployer.models.task_events import (
        TaskEvent,
    )
    from pbdeployer.models.tasks import (
        Task,
        TaskFilter,
        TaskStatus,
    )
    from pbdeployer.plays.service import (
        ServiceAction,
    )
    from pbdeployer.settings import (
        Settings,
    )
    from pbdeployer.sync import SyncDeployer

__version__ = _version("pbdeployer")

_HOMES: dict[str, tuple[str, ...]] = {
    "pbdeployer.deployer": ("Deployer",),
    "pbdeployer.settings": ("Settings",),
    "pbdeployer.sync": ("SyncDeployer",),
    "pbdeployer.errors": (
        "ArtifactRejected",
        "Conflict",
        "DataDirLocked",
        "DeploymentLocked",
        "FieldProblem",
        "HostKeyChanged",
        "HostUnreachable",
        "InvalidInput",
        "NotFound",
        "PayloadTooLarge",
        "PbDeployerError",
        "ReadOnlyDeployer",
        "ReleaseFailed",
        "RunCancelled",
        "RunError",
        "RunFailed",
        "RunTimeout",
        "StorageFull",
        "UnsafeSetting",
        "WrongEventLoop",
    ),
    "pbdeployer.models": (
        "App",
        "AppCreate",
        "AppFilter",
        "AppStatus",
        "AppUpdate",
        "AuditFinding",
        "AuditReport",
        "Deployment",
        "DeploymentStatus",
        "FindingStatus",
        "HealthReport",
        "LogLine",
        "Page",
        "PageRequest",
        "Server",
        "ServerCreate",
        "ServerFilter",
        "ServerUpdate",
        "Severity",
        "TlsMode",
        "UnitStatus",
        "Version",
        "VersionCreate",
        "VersionFilter",
    ),
    "pbdeployer.models.deployments": (
        "DeploymentFilter",
        "DeploymentState",
        "DeploymentStats",
    ),
    "pbdeployer.models.tasks": (
        "Task",
        "TaskFilter",
        "TaskStatus",
    ),
    "pbdeployer.models.task_events": ("TaskEvent",),
    "pbdeployer.models.run": (
        "RunEvent",
        "RunOutcome",
        "RunResult",
    ),
    "pbdeployer.plays.service": ("ServiceAction",),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "App",
    "AppCreate",
    "AppFilter",
    "AppStatus",
    "AppUpdate",
    "ArtifactRejected",
    "AuditFinding",
    "AuditReport",
    "Conflict",
    "DataDirLocked",
    "Deployer",
    "Deployment",
    "DeploymentFilter",
    "DeploymentLocked",
    "DeploymentState",
    "DeploymentStats",
    "DeploymentStatus",
    "FieldProblem",
    "FindingStatus",
    "HealthReport",
    "HostKeyChanged",
    "HostUnreachable",
    "InvalidInput",
    "LogLine",
    "NotFound",
    "Page",
    "PageRequest",
    "PayloadTooLarge",
    "PbDeployerError",
    "ReadOnlyDeployer",
    "ReleaseFailed",
    "RunCancelled",
    "RunError",
    "RunEvent",
    "RunFailed",
    "RunOutcome",
    "RunResult",
    "RunTimeout",
    "Server",
    "ServerCreate",
    "ServerFilter",
    "ServerUpdate",
    "ServiceAction",
    "Settings",
    "Severity",
    "StorageFull",
    "SyncDeployer",
    "Task",
    "TaskEvent",
    "TaskFilter",
    "TaskStatus",
    "TlsMode",
    "UnitStatus",
    "UnsafeSetting",
    "Version",
    "VersionCreate",
    "VersionFilter",
    "WrongEventLoop",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'pbdeployer' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this hook
    return value


def __dir__() -> list[str]:
    """The public names too, though most are imported only on first use."""
    return sorted(set(globals()) | set(__all__))
