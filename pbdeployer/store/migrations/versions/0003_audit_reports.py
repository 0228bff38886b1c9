"""Stored security audit reports, newest per server first.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from pbdeployer.store.tables import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_reports",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column(
            "server_id",
            sa.String(26),
            sa.ForeignKey("servers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created", UtcDateTime(), nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("report", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_audit_reports_server_created", "audit_reports", ["server_id", "created"]
    )


def downgrade() -> None:
    op.drop_table("audit_reports")
