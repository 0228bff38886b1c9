"""pbdeployer: deploy PocketBase apps to your own Linux servers over SSH.

>>> async with Deployer.open() as deployer:
...     server = await deployer.servers.create(ServerCreate(name="web1", host="203.0.113.7"))
"""

from importlib.metadata import version as _version

from pbdeployer.deployer import Deployer
from pbdeployer.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PbDeployerError,
)
from pbdeployer.models import (
    App,
    AppCreate,
    AppFilter,
    AppStatus,
    AppUpdate,
    Page,
    PageRequest,
    Server,
    ServerCreate,
    ServerFilter,
    ServerUpdate,
    Version,
    VersionCreate,
    VersionFilter,
)
from pbdeployer.settings import Settings

__version__ = _version("pbdeployer")

__all__ = [
    "App",
    "AppCreate",
    "AppFilter",
    "AppStatus",
    "AppUpdate",
    "Conflict",
    "Deployer",
    "InvalidInput",
    "NotFound",
    "Page",
    "PageRequest",
    "PbDeployerError",
    "Server",
    "ServerCreate",
    "ServerFilter",
    "ServerUpdate",
    "Settings",
    "Version",
    "VersionCreate",
    "VersionFilter",
    "__version__",
]
