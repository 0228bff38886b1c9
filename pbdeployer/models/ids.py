"""Record ids: opaque, URL-safe, and sortable by creation time.

The layout is ULID's: 48 bits of milliseconds then 80 random bits, in Crockford base32, so a
plain string sort is a time sort and ids reveal nothing but their creation time.
"""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_LENGTH = 26
_RANDOM_BITS = 80
_lock = threading.Lock()
_last = 0


def new_id(now_ms: int | None = None) -> str:
    """Return a fresh 26-character id, greater than any this process made before.

    Within one millisecond the random part is incremented instead of redrawn, so ids made in
    a burst still sort in creation order. An explicit ``now_ms`` gives a plain id for that time.
    """
    global _last  # noqa: PLW0603 - the one piece of state that keeps ids monotonic
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    fresh = (millis << _RANDOM_BITS) | int.from_bytes(os.urandom(10), "big")
    if now_ms is not None:
        return _encode(fresh)
    with _lock:
        value = fresh if fresh > _last else _last + 1
        _last = value
    return _encode(value)


def _encode(value: int) -> str:
    chars = []
    for _ in range(ID_LENGTH):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_id(text: str) -> bool:
    """Tell whether ``text`` has the shape of an id (cheap pre-check before a lookup)."""
    return len(text) == ID_LENGTH and all(c in _ALPHABET for c in text)
