"""Tables of tasks and their event streams, on the same ``metadata`` as every other table."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from pbdeployer.store.tables import UtcDateTime, metadata

tasks: Table = Table(
    "tasks",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("mutating", Boolean, nullable=False),
    Column("server_id", String(26), nullable=True),
    Column("app_id", String(26), nullable=True),
    Column("deployment_id", String(26), nullable=True),
    Column("params", JSON, nullable=False),
    Column("progress", Integer, nullable=False),
    Column("step", Text, nullable=False),
    Column("created", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime(), nullable=True),
    Column("finished_at", UtcDateTime(), nullable=True),
    Column("error_code", String(64), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("result", JSON, nullable=True),
    Column("event_count", Integer, nullable=False),
    Index("ix_tasks_status_id", "status", "id"),
    Index("ix_tasks_kind_id", "kind", "id"),
    Index("ix_tasks_server_id_id", "server_id", "id"),
    Index("ix_tasks_app_id_id", "app_id", "id"),
)

task_events: Table = Table(
    "task_events",
    metadata,
    Column("task_id", String(26), ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("type", String(40), nullable=False),
    Column("created", UtcDateTime(), nullable=False),
    Column("data", Text, nullable=False),
    PrimaryKeyConstraint("task_id", "seq", name="pk_task_events"),
)
