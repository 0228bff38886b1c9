"""Keep private key material out of events and run artifacts.

pbdeployer never hands key bytes to Ansible (servers name a key path or use ssh-agent), but a
task could still print a key it read on a host. Every event is redacted before anything stores
or forwards it, and the run directory is swept once more when the run ends.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

REDACTED = "[redacted private key]"
REDACTED_SECRET = "[redacted secret]"  # noqa: S105 - the placeholder, not a secret

# Plain-text markers; a string without any of them needs no regex work.
_MARKERS = ("PRIVATE KEY", "b3BlbnNzaC1rZXktdjE", "Private-Lines:")
_EDGE = re.compile(r"-----(BEGIN|END) (?:[A-Z0-9]+ )*PRIVATE KEY-----")
_PATTERNS = (
    # PEM and OpenSSH blocks; an unterminated block is redacted to the end of the text.
    re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----.*?(?:-----END (?:[A-Z0-9]+ )*"
        r"PRIVATE KEY-----|\Z)",
        re.S,
    ),
    # A bare OpenSSH key body ("openssh-key-v1" in base64), e.g. a line of a split block.
    re.compile(r"b3BlbnNzaC1rZXktdjE[A-Za-z0-9+/=]*"),
    # PuTTY key files carry the private part after this header.
    re.compile(r"Private-Lines: *\d+(?:\r?\n[A-Za-z0-9+/=]+)*"),
)
_MAX_SCRUB_BYTES = 64 << 20


def has_key_material(text: str) -> bool:
    return any(marker in text for marker in _MARKERS)


def redact_text(text: str) -> str:
    if not has_key_material(text):
        return text
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def redact_in_place(value: Any) -> Any:
    """Redact every string inside nested dicts and lists, mutating the containers.

    Lists are read as lines too: a key split over ``stdout_lines`` is redacted from its BEGIN
    line through its END line.
    """
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = redact_in_place(item)
    elif isinstance(value, list):
        _redact_lines(value)
    return value


def _redact_lines(items: list[Any]) -> None:
    inside = False
    for i, item in enumerate(items):
        if not isinstance(item, str):
            items[i] = redact_in_place(item)
            inside = False
            continue
        was_inside, inside = inside, _open_after(item, inside)
        items[i] = REDACTED if was_inside else redact_text(item)


def _open_after(line: str, inside: bool) -> bool:
    """Whether a key block is open at the end of ``line``: its last BEGIN/END marker decides,
    so a key that begins on the line another one ends on is still caught."""
    for edge in _EDGE.finditer(line):
        inside = edge.group(1) == "BEGIN"
    return inside


def secret_forms(secrets: tuple[str, ...]) -> tuple[str, ...]:
    """Each secret as it may appear in output: as is, quoted the Python way (Ansible prints
    loop items with repr) and JSON-escaped (event files), longest first, so a longer form is
    replaced before a shorter one inside it."""
    forms: set[str] = set()
    for secret in filter(None, secrets):
        quoted = {secret, repr(secret)[1:-1], secret.replace("\\", "\\\\").replace("'", "\\'")}
        forms |= quoted
        forms |= {json.dumps(form)[1:-1] for form in quoted}
        forms |= {json.dumps(form, ensure_ascii=False)[1:-1] for form in quoted}
    return tuple(sorted(forms, key=len, reverse=True))


def redact_secrets(value: Any, secrets: tuple[str, ...]) -> Any:
    """Replace each of ``secrets`` (the forms ``secret_forms`` gives) wherever it appears in
    ``value``, mutating dicts and lists in place."""
    if not secrets:
        return value
    if isinstance(value, str):
        return _without(value, secrets)
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = redact_secrets(item, secrets)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            value[i] = redact_secrets(item, secrets)
    return value


def _without(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED_SECRET)
    return text


def scrub_tree(root: Path, secrets: tuple[str, ...] = ()) -> list[Path]:
    """Rewrite files under ``root`` that hold key material or one of ``secrets``; symlinks
    are never followed.

    Returns the files that were rewritten, so callers can log that it happened.
    """
    scrubbed = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
        for name in files:
            path = Path(folder, name)
            if path.is_symlink() or path.stat().st_size > _MAX_SCRUB_BYTES:
                continue
            text = path.read_bytes().decode("utf-8", errors="surrogateescape")
            clean = _without(redact_text(text), secrets)
            if clean != text:
                path.write_bytes(clean.encode("utf-8", errors="surrogateescape"))
                scrubbed.append(path)
    return scrubbed
