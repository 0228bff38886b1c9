"""Where commands run: an API (``--api``, ``PBDEPLOYER_API_URL`` or the config file) or, when
none is configured, the library on a local data dir.

The config file (``$PBDEPLOYER_CONFIG``, else ``$XDG_CONFIG_HOME/pbdeployer/config.toml``) may
hold ``api`` and ``token``; since it holds a token, it must not be readable by group or others.
The token can come from ``PBDEPLOYER_API_TOKEN`` instead.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path

import msgspec

from pbdeployer.console.exits import CommandError


class Config(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    api: str | None = None
    token: str | None = None


def config_path(environ: Mapping[str, str]) -> Path:
    if environ.get("PBDEPLOYER_CONFIG"):
        return Path(environ["PBDEPLOYER_CONFIG"])
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pbdeployer" / "config.toml"


def load_config(path: Path) -> Config:
    """The config file's settings; refused when others could read the token in it."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return Config()
    if stat.S_IMODE(mode) & 0o077:
        raise CommandError(
            f"{path} is readable by others (mode {stat.S_IMODE(mode):04o}); "
            f"it holds a token: run 'chmod 600 {path}'"
        )
    try:
        return msgspec.convert(tomllib.loads(path.read_text()), Config)
    except (tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise CommandError(f"{path}: {exc}") from exc


class Connection(msgspec.Struct, frozen=True, kw_only=True):
    """An API to call, or ``api`` None for the embedded library."""

    api: str | None
    token: str | None


def connection(api: str | None, environ: Mapping[str, str] | None = None) -> Connection:
    """``--api`` wins over the environment, which wins over the config file."""
    env = os.environ if environ is None else environ
    config = load_config(config_path(env))
    url = api or env.get("PBDEPLOYER_API_URL") or config.api
    if not url:
        return Connection(api=None, token=None)
    token = env.get("PBDEPLOYER_API_TOKEN") or config.token
    if not token:
        raise CommandError(
            f"no token for {url}: set PBDEPLOYER_API_TOKEN or 'token' in {config_path(env)}"
        )
    if not url.startswith(("http://", "https://")):
        raise CommandError(f"--api must be an http:// or https:// URL, not {url!r}")
    return Connection(api=url, token=token)
