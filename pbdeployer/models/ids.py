"""Record ids: opaque, URL-safe, and sortable by creation time.

The layout is ULID's: 48 bits of milliseconds then 80 random bits, in Crockford base32, so a
plain string sort is a time sort and ids reveal nothing but their creation time.
"""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_LENGTH = 26


def new_id(now_ms: int | None = None) -> str:
    """Return a fresh 26-character id."""
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(ID_LENGTH):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_id(text: str) -> bool:
    """Tell whether ``text`` has the shape of an id (cheap pre-check before a lookup)."""
    return len(text) == ID_LENGTH and all(c in _ALPHABET for c in text)
