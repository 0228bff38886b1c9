"""Persistence: the only package that imports SQLAlchemy. Repositories return models."""

from pbdeployer.store.database import Database
from pbdeployer.store.deployments import DeploymentRepository
from pbdeployer.store.events import TaskEventRepository
from pbdeployer.store.repositories import (
    AppRepository,
    ServerRepository,
    Store,
    VersionRepository,
)
from pbdeployer.store.tasks import TaskRepository

__all__ = [
    "AppRepository",
    "Database",
    "DeploymentRepository",
    "ServerRepository",
    "Store",
    "TaskEventRepository",
    "TaskRepository",
    "VersionRepository",
]
