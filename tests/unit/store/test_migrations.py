"""Migration 0007 (list indexes) over a database that already holds rows of every kind."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from importlib import resources
from pathlib import Path

import msgspec
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine, insert

from pbdeployer.models import DeploymentStatus, PageRequest
from pbdeployer.models.common import ListOrder
from pbdeployer.models.deployments import Deployment, DeploymentFilter
from pbdeployer.models.tasks import Task, TaskFilter, TaskKind, TaskStatus
from pbdeployer.settings import DATABASE_FILE, Settings
from pbdeployer.store import Database, Store, tables
from pbdeployer.store.task_tables import tasks
from pbdeployer.store.tasks import _values as task_values
from tests.unit.store.test_repositories import NOW, Ids, app, server, version

NEW_INDEXES = {
    "ix_apps_server_id_id", "ix_apps_status_id", "ix_versions_app_id_id",
    "ix_deployments_created_id", "ix_deployments_app_id_created",
    "ix_deployments_server_id_created", "ix_deployments_status_created", "ix_tasks_status_id",
    "ix_tasks_kind_id", "ix_tasks_server_id_id", "ix_tasks_app_id_id",
}  # fmt: skip


def _migrate(path: Path, revision: str, *, down: bool = False) -> None:
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        config = Config()
        config.set_main_option(
            "script_location", str(resources.files("pbdeployer.store") / "migrations")
        )
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)
    engine.dispose()


def _populate(conn: Connection, ids: Ids) -> tuple[str, list[str]]:
    web = server(ids, "web1")
    blog = app(ids, web.id, "blog", 8090)
    release = version(ids, blog.id, "1.0")
    for table, record in ((tables.servers, web), (tables.apps, blog), (tables.versions, release)):
        conn.execute(insert(table).values(msgspec.structs.asdict(record)))
    made = []
    for n in range(30):
        deployment = Deployment(
            id=ids(), created=NOW, updated=NOW, app_id=blog.id, server_id=web.id,
            version_id=release.id, status=DeploymentStatus.SUCCEEDED, logs="",
            started_at=NOW, completed_at=NOW,
        )  # fmt: skip
        conn.execute(insert(tables.deployments).values(msgspec.structs.asdict(deployment)))
        task = Task(
            id=ids(), kind=TaskKind.DEPLOY, status=TaskStatus.SUCCEEDED, mutating=True,
            server_id=web.id, app_id=blog.id, deployment_id=deployment.id, params={"n": n},
            progress=100, step="", created=NOW, started_at=NOW, finished_at=NOW, error=None,
            result=None, event_count=0,
        )  # fmt: skip
        conn.execute(insert(tasks).values(task_values(task)))
        made.append(deployment.id)
    return blog.id, made


def _indexes(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}


async def test_0007_indexes_a_populated_database_and_keeps_every_row(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    path = tmp_path / DATABASE_FILE
    _migrate(path, "0006")
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        blog, made = _populate(conn, Ids())
    engine.dispose()
    assert not NEW_INDEXES & _indexes(path)

    database = Database(settings.sqlalchemy_url)
    await database.open()  # migrates to head
    try:
        store = Store(database.engine)
        newest = PageRequest(per_page=7, order=ListOrder.NEWEST)
        page, total = await store.deployments.list(DeploymentFilter(app_id=blog), newest)
        assert (total, [d.id for d in page]) == (30, made[::-1][:7])
        assert (await store.tasks.list(TaskFilter(app_id=blog), PageRequest()))[1] == 30
    finally:
        await database.close()
    assert _indexes(path) >= NEW_INDEXES
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    _migrate(path, "0006", down=True)
    assert not NEW_INDEXES & _indexes(path)
    assert {"ix_deployments_created", "ix_tasks_status"} <= _indexes(path)
