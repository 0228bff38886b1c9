"""Persistence: the only package that imports SQLAlchemy. Repositories return models."""

from pbdeployer.store.database import Database
from pbdeployer.store.repositories import (
    AppRepository,
    DeploymentRepository,
    ServerRepository,
    Store,
    VersionRepository,
)

__all__ = [
    "AppRepository",
    "Database",
    "DeploymentRepository",
    "ServerRepository",
    "Store",
    "VersionRepository",
]
