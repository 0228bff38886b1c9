"""Version zips: size, sha256, entry count and migrations of the uploaded zip.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from pbdeployer.store.tables import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("zip_sha256", sa.String(64), nullable=True))
        batch.add_column(sa.Column("zip_size", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("zip_entry_count", sa.Integer, nullable=True))
        batch.add_column(
            sa.Column("zip_migrations", sa.JSON, nullable=False, server_default="[]")
        )
        batch.add_column(sa.Column("uploaded_at", UtcDateTime(), nullable=True))
    op.create_index("ix_versions_zip_sha256", "versions", ["zip_sha256"])
    op.create_index("ix_deployments_version_id", "deployments", ["version_id"])


def downgrade() -> None:
    op.drop_index("ix_deployments_version_id", table_name="deployments")
    op.drop_index("ix_versions_zip_sha256", table_name="versions")
    with op.batch_alter_table("versions") as batch:
        for column in ("uploaded_at", "zip_migrations", "zip_entry_count", "zip_size", "zip_sha256"):
            batch.drop_column(column)
