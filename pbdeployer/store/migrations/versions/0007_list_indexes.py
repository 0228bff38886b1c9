"""List indexes: every documented list filter with the list's sort key behind it.

A page filtered by one column is then an index range read in order (newest or oldest first),
never a walk of the table or a sort of every match. Each new index starts with the column of
an index it replaces, so nothing that used the old one loses it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# (table, name, columns); deployments sort by creation time, everything else by id.
NEW = (
    ("apps", "ix_apps_server_id_id", ["server_id", "id"]),
    ("apps", "ix_apps_status_id", ["status", "id"]),
    ("versions", "ix_versions_app_id_id", ["app_id", "id"]),
    ("deployments", "ix_deployments_created_id", ["created", "id"]),
    ("deployments", "ix_deployments_app_id_created", ["app_id", "created", "id"]),
    ("deployments", "ix_deployments_server_id_created", ["server_id", "created", "id"]),
    ("deployments", "ix_deployments_status_created", ["status", "created", "id"]),
    ("tasks", "ix_tasks_status_id", ["status", "id"]),
    ("tasks", "ix_tasks_kind_id", ["kind", "id"]),
    ("tasks", "ix_tasks_server_id_id", ["server_id", "id"]),
    ("tasks", "ix_tasks_app_id_id", ["app_id", "id"]),
)
REPLACED = (
    ("apps", "ix_apps_server_id", ["server_id"]),
    ("deployments", "ix_deployments_app_id", ["app_id"]),
    ("deployments", "ix_deployments_created", ["created"]),
    ("tasks", "ix_tasks_status", ["status"]),
    ("tasks", "ix_tasks_server_id", ["server_id"]),
)


def upgrade() -> None:
    for table, name, columns in NEW:
        op.create_index(name, table, columns)
    for table, name, _columns in REPLACED:
        op.drop_index(name, table)


def downgrade() -> None:
    for table, name, columns in REPLACED:
        op.create_index(name, table, columns)
    for table, name, _columns in NEW:
        op.drop_index(name, table)
