"""An app's own environment: variables its process reads, some of them secret.

A secret's value is write-only: it goes in with ``AppEnvUpdate`` and never comes back out;
``AppEnv`` shows its key and that it is set.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

MAX_ENV_VARS = 200

_WRITE_ONLY = (
    "Write-only: the value is encrypted at rest, kept out of events and logs, and never "
    "returned (answers show the key and set=true)."
)
_KEY_HELP = "A shell-style name: 1-128 of A-Z a-z 0-9 _, not a digit first."
_KEEP = (
    "null on a secret that is already set keeps its stored value, so the other variables can "
    "change without sending it again."
)


class EnvVarInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    key: Annotated[str, msgspec.Meta(description=_KEY_HELP)]
    value: Annotated[str | None, msgspec.Meta(description=_KEEP)] = None
    secret: Annotated[bool, msgspec.Meta(description=_WRITE_ONLY)] = False


class AppEnvUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The app's whole environment; variables left out are removed."""

    variables: list[EnvVarInput]


class EnvVar(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    secret: bool
    value: Annotated[str | None, msgspec.Meta(description="null for a secret")]
    set: bool = True


class AppEnv(msgspec.Struct, frozen=True, kw_only=True):
    app_id: str
    variables: list[EnvVar]


class StoredEnvVar(msgspec.Struct, frozen=True, kw_only=True):
    """One row as stored: a secret's ``value`` is its ciphertext, never the clear value."""

    key: str
    secret: bool
    value: str


class EnvValues(msgspec.Struct, frozen=True, kw_only=True):
    """An app's variables in clear, for its host only, and which of the values are secret."""

    values: dict[str, str] = msgspec.field(default_factory=dict)
    secrets: tuple[str, ...] = ()
