"""Encryption at rest for apps' secret variables, with a key kept out of the database.

The key is a file in the data dir (``secrets.key``, 0600, made on first use), so a copy of
the database alone (a backup, a shared PostgreSQL) reveals no secret. Losing the key file
loses the secrets: they must be set again.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from pbdeployer.errors import Conflict


class SealBroken(Conflict):
    """A stored secret does not open with this data dir's key (the key file was replaced)."""

    code = "secret_unreadable"


class SecretBox:
    """Seals and opens secret values with the key in ``key_file``."""

    def __init__(self, key_file: Path) -> None:
        self._key_file = key_file
        self._fernet: Fernet | None = None
        self._lock = threading.Lock()

    def seal(self, value: str) -> str:
        return self._cipher().encrypt(value.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._cipher().decrypt(sealed.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise SealBroken(
                f"a stored secret does not open with {self._key_file}; set the secret again"
            ) from None

    def _cipher(self) -> Fernet:
        with self._lock:
            if self._fernet is None:
                self._fernet = Fernet(_load_or_create(self._key_file))
            return self._fernet


def _load_or_create(path: Path) -> bytes:
    """The key in ``path``; a new one written there (0600, never replaced) when absent."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    key = Fernet.generate_key()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key
