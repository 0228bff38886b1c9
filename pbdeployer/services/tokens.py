"""The API token: from the environment, or generated once into the data dir (mode 0600)."""

from __future__ import annotations

import os
import secrets

from pbdeployer.settings import Settings


def load_or_create_token(settings: Settings) -> tuple[str, bool]:
    """Return the token and whether it was just created (so the caller shows it once)."""
    if settings.api_token:
        return settings.api_token, False
    path = settings.token_file
    if path.exists():
        return path.read_text().strip(), False
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token, True
