"""The task bodies of the existing host operations refuse bad input as recorded failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbdeployer.models.run import RunCredentials
from pbdeployer.models.tasks import TaskKind, TaskSpec, TaskStatus
from pbdeployer.runner import Runner
from pbdeployer.services import SecurityService, ServiceControl, SetupService
from pbdeployer.services.tasks import MUTATING_KINDS, OperationHandlers, TaskRuns
from pbdeployer.settings import Settings
from pbdeployer.store import Database, Store
from tests.unit.tasks.support import QueueFactory, collect

SERVER = "01NOSUCHSERVER000000000000"


@pytest.fixture
def operations(database: Database, tmp_path: Path) -> OperationHandlers:
    store = Store(database.engine)
    runs = TaskRuns(Runner(Settings(data_dir=tmp_path / "runs")), RunCredentials())
    return OperationHandlers(
        SetupService(store, runs), SecurityService(store, runs), ServiceControl(store, runs)
    )


def test_every_host_operation_has_a_body(operations: OperationHandlers) -> None:
    kinds = set(operations.handlers())
    elsewhere = {
        TaskKind.DEPLOY,
        TaskKind.ROLLBACK,
        TaskKind.DEPLOY_RECOVER,
        TaskKind.PROXY_SITE,
        TaskKind.APP_ENV,
        TaskKind.APP_REMOVE,
    }
    assert kinds == set(TaskKind) - elsewhere
    assert TaskKind.AUDIT not in MUTATING_KINDS
    assert TaskKind.LOCKDOWN in MUTATING_KINDS


@pytest.mark.parametrize(
    ("kind", "target", "params", "code", "words"),
    [
        (TaskKind.SETUP, {"server_id": SERVER}, {"extra_packages": ["bad;pkg"]},
         "validation_failed", "packages[0]"),
        (TaskKind.SETUP, {"server_id": SERVER}, {}, "not_found", SERVER),
        (TaskKind.SETUP_USER, {}, {}, "validation_failed", "server_id"),
        (TaskKind.LOCKDOWN, {"server_id": SERVER}, {"extra_ports": [0]},
         "validation_failed", "extra_ports[0]"),
        (TaskKind.AUDIT, {"server_id": SERVER}, {}, "not_found", SERVER),
        (TaskKind.SERVICE_CONTROL, {"app_id": "01APP"}, {"action": "explode"},
         "validation_failed", "params"),
        (TaskKind.SERVICE_STATUS, {}, {}, "validation_failed", "app_id"),
        (TaskKind.SERVICE_LOGS, {"app_id": "01APP"}, {"lines": 0}, "validation_failed", "lines"),
    ],
)  # fmt: skip
async def test_bad_input_ends_the_task_failed_with_its_code(
    make_queue: QueueFactory,
    operations: OperationHandlers,
    kind: TaskKind,
    target: dict[str, str],
    params: dict[str, object],
    code: str,
    words: str,
) -> None:
    queue = await make_queue(operations.handlers())
    spec = TaskSpec(kind=kind, mutating=kind in MUTATING_KINDS, params=params, **target)
    task = await queue.submit(spec)
    await collect(queue, task.id)
    record = await queue.get(task.id)
    assert record.status is TaskStatus.FAILED
    assert record.error is not None
    assert record.error.code == code
    assert words in record.error.message
