"""Settings: one struct, built once from the environment and passed explicitly."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from pbdeployer.errors import InvalidInput

_ENV_PREFIX = "PBDEPLOYER_"
_SECRET_FIELDS = frozenset({"api_token", "database_url"})
DATABASE_FILE = "pbdeployer.db"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every setting; ``data_dir`` is made absolute against the working directory at creation."""

    data_dir: Path = Path(".pbdeployer")
    host: str = "127.0.0.1"
    port: int = 8080
    api_token: str | None = None
    database_url: str | None = None
    max_upload_bytes: int = 1 << 30
    zip_max_entries: int = 10_000
    zip_max_uncompressed_bytes: int = 4 << 30
    zip_max_ratio: float = 200.0
    storage_min_free_bytes: int = 512 << 20
    run_artifacts_keep: int = 20
    run_timeout_seconds: float = 3600.0
    run_idle_timeout_seconds: float = 600.0
    ssh_connect_timeout_seconds: int = 10
    ssh_keepalive_seconds: int = 15
    """A connection that stays silent for 4 of these intervals counts as lost."""
    task_workers: int = 4
    event_retention_days: int = 0
    """Stored events of tasks that ended longer ago than this are pruned; 0 keeps them all."""
    retention_interval_seconds: float = 3600.0
    task_stop_grace_seconds: float = 2.0
    """On close, how long running tasks may go on before they are cancelled; ``close`` then
    returns within this plus ``CLOSE_CANCEL_SECONDS`` (8 s in all by default)."""
    deploy_health_timeout_seconds: float = 30.0
    deploy_health_interval_seconds: float = 0.2
    deploy_keep_releases: int = 5
    deploy_keep_snapshots: int = 5
    deploy_recover_seconds: float = 60.0
    request_header_timeout_seconds: float = 10.0
    """How long ``serve`` waits for a request's headers to be complete."""
    request_body_timeout_seconds: float = 30.0
    """How long the API waits for each next piece of a request body."""
    acme_email: str | None = None
    """Contact email of the proxy's ACME (Let's Encrypt) account on every server."""

    def __post_init__(self) -> None:
        """Paths are absolute from here on: a later ``chdir`` (or a library that compares
        paths it built with paths it got back) must not see another directory."""
        msgspec.structs.force_setattr(self, "data_dir", Path(self.data_dir).absolute())
        if self.task_workers < 1:  # a queue without workers would hold every task forever
            raise InvalidInput.single("task_workers", "must be at least 1")

    def __repr__(self) -> str:
        """Never print the token or a database URL that may hold a password."""
        shown = {
            f: "***" if f in _SECRET_FIELDS and getattr(self, f) else getattr(self, f)
            for f in self.__struct_fields__
        }
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Read ``PBDEPLOYER_<FIELD>`` variables; explicit overrides win."""
        env = os.environ if environ is None else environ
        raw: dict[str, object] = {}
        for field in msgspec.structs.fields(cls):
            value = env.get(_ENV_PREFIX + field.name.upper())
            if value not in (None, ""):
                raw[field.name] = value
        raw.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return msgspec.convert(raw, cls, strict=False, dec_hook=_decode_path)
        except msgspec.ValidationError as exc:
            raise _env_problem(str(exc), env_fields(cls)) from None

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / DATABASE_FILE}"

    @property
    def token_file(self) -> Path:
        return self.data_dir / "api-token"

    @property
    def secrets_key_file(self) -> Path:
        """The key that encrypts apps' secret variables in the database (never stored in it)."""
        return self.data_dir / "secrets.key"

    @property
    def blobs_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"

    @property
    def known_hosts_file(self) -> Path:
        return self.data_dir / "known_hosts"


def _env_problem(text: str, fields: list[str]) -> InvalidInput:
    """``Expected `int`, got `str` - at `$.port``` → ``InvalidInput`` on ``PBDEPLOYER_PORT``."""
    reason, _, path = text.partition(" - at `$.")
    bad = path.rstrip("`")
    if not bad:  # raised by __post_init__: "task_workers: must be at least 1"
        bad, _, rest = reason.partition(": ")
        reason = rest if bad in fields else reason
    name = _ENV_PREFIX + bad.upper() if bad in fields else "settings"
    return InvalidInput.single(name, reason)


def env_fields(cls: type[Settings] = Settings) -> list[str]:
    """The fields read from ``PBDEPLOYER_<FIELD>`` (every one of them)."""
    return [field.name for field in msgspec.structs.fields(cls)]


def _decode_path(type_: type, obj: object) -> object:
    if type_ is Path and isinstance(obj, str | Path):
        return Path(obj)
    raise NotImplementedError
