"""App domains: how the proxy serves each app's domain (acme, internal or off).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("apps") as batch:
        batch.add_column(sa.Column("tls", sa.String(10), nullable=False, server_default="acme"))


def downgrade() -> None:
    with op.batch_alter_table("apps") as batch:
        batch.drop_column("tls")
