"""Servers, apps, versions and deployments.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from pbdeployer.store.tables import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created", UtcDateTime(), nullable=False),
        sa.Column("updated", UtcDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "servers",
        sa.Column("id", sa.String(26), primary_key=True),
        *_stamps(),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("host", sa.String(253), nullable=False),
        sa.Column("port", sa.Integer, nullable=False),
        sa.Column("root_username", sa.String(32), nullable=False),
        sa.Column("app_username", sa.String(32), nullable=False),
        sa.Column("use_ssh_agent", sa.Boolean, nullable=False),
        sa.Column("manual_key_path", sa.Text, nullable=True),
        sa.Column("setup_complete", sa.Boolean, nullable=False),
        sa.Column("security_locked", sa.Boolean, nullable=False),
    )
    op.create_table(
        "apps",
        sa.Column("id", sa.String(26), primary_key=True),
        *_stamps(),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("server_id", sa.String(26), sa.ForeignKey("servers.id"), nullable=False),
        sa.Column("remote_path", sa.String(255), nullable=False),
        sa.Column("service_name", sa.String(100), nullable=False),
        sa.Column("domain", sa.String(253), nullable=True),
        sa.Column("http_port", sa.Integer, nullable=False),
        sa.Column("binary_name", sa.String(100), nullable=False),
        sa.Column("current_version", sa.String(64), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.UniqueConstraint("server_id", "http_port", name="uq_apps_server_port"),
        sa.UniqueConstraint("server_id", "service_name", name="uq_apps_server_service"),
        sa.UniqueConstraint("server_id", "remote_path", name="uq_apps_server_path"),
    )
    op.create_index("ix_apps_server_id", "apps", ["server_id"])
    op.create_table(
        "versions",
        sa.Column("id", sa.String(26), primary_key=True),
        *_stamps(),
        sa.Column("app_id", sa.String(26), sa.ForeignKey("apps.id"), nullable=False),
        sa.Column("version_number", sa.String(64), nullable=False),
        sa.Column("deployment_zip", sa.String(128), nullable=True),
        sa.Column("notes", sa.Text, nullable=False),
        sa.UniqueConstraint("app_id", "version_number", name="uq_versions_app_number"),
    )
    op.create_table(
        "deployments",
        sa.Column("id", sa.String(26), primary_key=True),
        *_stamps(),
        sa.Column("app_id", sa.String(26), sa.ForeignKey("apps.id"), nullable=False),
        sa.Column("version_id", sa.String(26), sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("logs", sa.Text, nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=True),
        sa.Column("completed_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_deployments_app_id", "deployments", ["app_id"])


def downgrade() -> None:
    op.drop_table("deployments")
    op.drop_table("versions")
    op.drop_table("apps")
    op.drop_table("servers")
