"""Use cases: what the library and the API can do, each validated the same way."""

from pbdeployer.services.apps import AppService
from pbdeployer.services.artifacts import VersionZips, ZipPolicy, ZipSource
from pbdeployer.services.health import HealthService
from pbdeployer.services.servers import ServerService
from pbdeployer.services.tokens import load_or_create_token
from pbdeployer.services.versions import VersionService

__all__ = [
    "AppService",
    "HealthService",
    "ServerService",
    "VersionService",
    "VersionZips",
    "ZipPolicy",
    "ZipSource",
    "load_or_create_token",
]
