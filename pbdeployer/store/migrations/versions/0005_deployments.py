"""Deployments: kind, progress, outcome and data-snapshot columns; the per-app deploy lock.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from pbdeployer.store.tables import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COLUMNS = (
    sa.Column("server_id", sa.String(26), nullable=True),
    sa.Column("kind", sa.String(20), nullable=False, server_default="deploy"),
    sa.Column("task_id", sa.String(26), nullable=True),
    sa.Column("previous_version_id", sa.String(26), nullable=True),
    sa.Column("release", sa.String(64), nullable=False, server_default=""),
    sa.Column("progress", sa.Integer, nullable=False, server_default="0"),
    sa.Column("step", sa.Text, nullable=False, server_default=""),
    sa.Column("restore_data", sa.Boolean, nullable=False, server_default="0"),
    sa.Column("rolled_back", sa.Boolean, nullable=False, server_default="0"),
    sa.Column("restored_data", sa.Boolean, nullable=False, server_default="0"),
    sa.Column("snapshot", sa.Text, nullable=True),
    sa.Column("error_code", sa.String(64), nullable=True),
    sa.Column("error_message", sa.Text, nullable=True),
)


def upgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        for column in _COLUMNS:
            batch.add_column(column)
    op.create_index("ix_deployments_created", "deployments", ["created"])
    op.create_table(
        "deploy_locks",
        sa.Column(
            "app_id",
            sa.String(26),
            sa.ForeignKey("apps.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("deployment_id", sa.String(26), nullable=False),
        sa.Column("acquired_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("deploy_locks")
    op.drop_index("ix_deployments_created", "deployments")
    with op.batch_alter_table("deployments") as batch:
        for column in reversed(_COLUMNS):
            batch.drop_column(column.name)
