"""Table definitions (SQLAlchemy Core). Rows never leave ``store/``: repositories return models."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata: MetaData = MetaData()


class UtcDateTime(TypeDecorator[datetime]):
    """Stores UTC and hands back aware datetimes whatever the backend keeps."""

    impl: DateTime = DateTime(timezone=True)
    cache_ok: bool | None = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _stamps() -> list[Column[datetime]]:
    return [
        Column("created", UtcDateTime(), nullable=False),
        Column("updated", UtcDateTime(), nullable=False),
    ]


servers: Table = Table(
    "servers",
    metadata,
    Column("id", String(26), primary_key=True),
    *_stamps(),
    Column("name", String(100), nullable=False, unique=True),
    Column("host", String(253), nullable=False),
    Column("port", Integer, nullable=False),
    Column("root_username", String(32), nullable=False),
    Column("app_username", String(32), nullable=False),
    Column("use_ssh_agent", Boolean, nullable=False),
    Column("manual_key_path", Text, nullable=True),
    Column("setup_complete", Boolean, nullable=False),
    Column("security_locked", Boolean, nullable=False),
)

apps: Table = Table(
    "apps",
    metadata,
    Column("id", String(26), primary_key=True),
    *_stamps(),
    Column("name", String(100), nullable=False, unique=True),
    Column("server_id", String(26), ForeignKey("servers.id"), nullable=False),
    Column("remote_path", String(255), nullable=False),
    Column("service_name", String(100), nullable=False),
    Column("domain", String(253), nullable=True),
    Column("http_port", Integer, nullable=False),
    Column("binary_name", String(100), nullable=False),
    Column("current_version", String(64), nullable=True),
    Column("status", String(20), nullable=False),
    Column("tls", String(10), nullable=False, server_default="acme"),
    UniqueConstraint("server_id", "http_port", name="uq_apps_server_port"),
    UniqueConstraint("server_id", "service_name", name="uq_apps_server_service"),
    UniqueConstraint("server_id", "remote_path", name="uq_apps_server_path"),
    Index("ix_apps_server_id_id", "server_id", "id"),
    Index("ix_apps_status_id", "status", "id"),
)

app_env: Table = Table(
    "app_env",
    metadata,
    Column("app_id", String(26), ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("secret", Boolean, nullable=False),
    # A secret's value is its ciphertext; the key that opens it is not in the database.
    Column("value", Text, nullable=False),
)

versions: Table = Table(
    "versions",
    metadata,
    Column("id", String(26), primary_key=True),
    *_stamps(),
    Column("app_id", String(26), ForeignKey("apps.id"), nullable=False),
    Column("version_number", String(64), nullable=False),
    Column("deployment_zip", String(128), nullable=True),
    Column("notes", Text, nullable=False),
    Column("zip_sha256", String(64), nullable=True),
    Column("zip_size", BigInteger, nullable=True),
    Column("zip_entry_count", Integer, nullable=True),
    Column("zip_migrations", JSON, nullable=False, server_default="[]"),
    Column("uploaded_at", UtcDateTime(), nullable=True),
    UniqueConstraint("app_id", "version_number", name="uq_versions_app_number"),
    Index("ix_versions_zip_sha256", "zip_sha256"),
    Index("ix_versions_app_id_id", "app_id", "id"),
)

deployments: Table = Table(
    "deployments",
    metadata,
    Column("id", String(26), primary_key=True),
    *_stamps(),
    Column("app_id", String(26), ForeignKey("apps.id"), nullable=False),
    Column("version_id", String(26), ForeignKey("versions.id"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("logs", Text, nullable=False),
    Column("started_at", UtcDateTime(), nullable=True),
    Column("completed_at", UtcDateTime(), nullable=True),
    Column("server_id", String(26), nullable=True),
    Column("kind", String(20), nullable=False, server_default="deploy"),
    Column("task_id", String(26), nullable=True),
    Column("previous_version_id", String(26), nullable=True),
    Column("release", String(64), nullable=False, server_default=""),
    Column("progress", Integer, nullable=False, server_default="0"),
    Column("step", Text, nullable=False, server_default=""),
    Column("restore_data", Boolean, nullable=False, server_default="0"),
    Column("rolled_back", Boolean, nullable=False, server_default="0"),
    Column("restored_data", Boolean, nullable=False, server_default="0"),
    Column("snapshot", Text, nullable=True),
    Column("error_code", String(64), nullable=True),
    Column("error_message", Text, nullable=True),
    Index("ix_deployments_version_id", "version_id"),
    Index("ix_deployments_created_id", "created", "id"),
    Index("ix_deployments_app_id_created", "app_id", "created", "id"),
    Index("ix_deployments_server_id_created", "server_id", "created", "id"),
    Index("ix_deployments_status_created", "status", "created", "id"),
)

deploy_locks: Table = Table(
    "deploy_locks",
    metadata,
    Column("app_id", String(26), ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    Column("deployment_id", String(26), nullable=False),
    Column("acquired_at", UtcDateTime(), nullable=False),
)

audit_reports: Table = Table(
    "audit_reports",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("server_id", String(26), ForeignKey("servers.id", ondelete="CASCADE"), nullable=False),
    Column("created", UtcDateTime(), nullable=False),
    Column("score", Integer, nullable=False),
    Column("report", Text, nullable=False),
    Index("ix_audit_reports_server_created", "server_id", "created"),
)
