"""Background tasks and the persisted event stream of each.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from pbdeployer.store.tables import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("mutating", sa.Boolean, nullable=False),
        sa.Column("server_id", sa.String(26), nullable=True),
        sa.Column("app_id", sa.String(26), nullable=True),
        sa.Column("deployment_id", sa.String(26), nullable=True),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("progress", sa.Integer, nullable=False),
        sa.Column("step", sa.Text, nullable=False),
        sa.Column("created", UtcDateTime(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=True),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("event_count", sa.Integer, nullable=False),
    )
    op.create_index("ix_tasks_status", "tasks", ["status"])
    op.create_index("ix_tasks_server_id", "tasks", ["server_id"])
    op.create_table(
        "task_events",
        sa.Column(
            "task_id",
            sa.String(26),
            sa.ForeignKey("tasks.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("created", UtcDateTime(), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("task_id", "seq", name="pk_task_events"),
    )


def downgrade() -> None:
    op.drop_table("task_events")
    op.drop_table("tasks")
