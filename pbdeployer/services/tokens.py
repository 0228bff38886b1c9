"""The API token: from the environment, or generated once into the data dir (mode 0600).

HTTP and the WebSocket both compare what a client presents with this token, so a token that is
empty or guessable turns authentication off in all but name: such a token is refused, and the
server does not start with it.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from pbdeployer.errors import UnsafeSetting
from pbdeployer.settings import Settings

MIN_TOKEN_LENGTH = 32
"""At least 32 characters: a generated token (43 URL-safe characters) carries 256 bits."""
_PRINTABLE = re.compile(r"[\x21-\x7e]+")  # visible ASCII: what an HTTP header carries as-is
_ADVICE = (
    f"an API token must be at least {MIN_TOKEN_LENGTH} visible ASCII characters without spaces, "
    "e.g. from `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`"
)


def check_token(token: str, source: str) -> str:
    """The token without surrounding whitespace; ``UnsafeSetting`` naming ``source`` if weak."""
    token = token.strip()
    if not token:
        raise UnsafeSetting(f"the API token in {source} is empty; {_ADVICE}")
    if not _PRINTABLE.fullmatch(token):
        raise UnsafeSetting(
            f"the API token in {source} holds spaces, control or non-ASCII characters; {_ADVICE}"
        )
    if len(token) < MIN_TOKEN_LENGTH:
        raise UnsafeSetting(
            f"the API token in {source} is too short ({len(token)} characters); {_ADVICE}"
        )
    return token


def load_or_create_token(settings: Settings) -> tuple[str, bool]:
    """Return the token and whether it was just created (so the caller shows it once)."""
    if settings.api_token is not None:
        return check_token(settings.api_token, "PBDEPLOYER_API_TOKEN"), False
    path = settings.token_file
    if path.exists():
        advice = "delete the file to have a new token generated"
        return check_token(path.read_text(errors="replace"), f"{path} ({advice})"), False
    return _create(path), True


def _create(path: Path) -> str:
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token
