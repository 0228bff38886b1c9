"""pbdeployer: deploy PocketBase apps to your own Linux servers over SSH.

>>> async with Deployer.open() as deployer:
...     server = await deployer.servers.create(ServerCreate(name="web1", host="203.0.113.7"))

Names are imported on first use, so tools that need one submodule (the CLI's ``--version``,
the test-host helpers) don't pay for the database and web stack.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import version as _version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pbdeployer.deployer import Deployer
    from pbdeployer.errors import Conflict, InvalidInput, NotFound, PbDeployerError
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
_ERRORS = {"Conflict", "InvalidInput", "NotFound", "PbDeployerError"}


def _home(name: str) -> str | None:
    if name == "Deployer":
        return "pbdeployer.deployer"
    if name == "Settings":
        return "pbdeployer.settings"
    if name in _ERRORS:
        return "pbdeployer.errors"
    return "pbdeployer.models" if name in __all__ else None


def __getattr__(name: str) -> Any:
    home = _home(name)
    if home is None:
        raise AttributeError(f"module 'pbdeployer' has no attribute {name!r}")
    return getattr(import_module(home), name)
