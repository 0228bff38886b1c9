"""Filters of the user role: the key material of authorized_keys lines.

Root's authorized_keys on cloud images carries options such as
``no-port-forwarding,command="echo 'Please login as the user \\"admin\\"...';exit 142"``: a copy
with those options gives the app user a key that cannot run anything. Only the key itself (type,
base64 blob, comment) is copied; every option is dropped.
"""

from __future__ import annotations

import re

KEY = re.compile(r"((?:sk-)?(?:ssh|ecdsa)-[A-Za-z0-9@.-]+)[ \t]+(AAAA[A-Za-z0-9+/]+={0,3})(?:[ \t]+(.*))?\Z")


def _after_options(line):
    """The rest of ``line`` after its options (authorized_keys(5): quotes protect blanks)."""
    quoted, index = False, 0
    while index < len(line):
        char = line[index]
        if char == "\\" and quoted:
            index += 2
            continue
        if char == '"':
            quoted = not quoted
        elif char in " \t" and not quoted:
            return line[index:].lstrip()
        index += 1
    return ""


def key_material(line):
    """``type base64 [comment]`` of one authorized_keys line, or None for anything else."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    found = KEY.match(line) or KEY.match(_after_options(line))
    if found is None:
        return None
    comment = (found.group(3) or "").strip()
    return " ".join(part for part in (found.group(1), found.group(2), comment) if part)


def authorized_key_material(text):
    """Every key of an authorized_keys text without its options, in order, each once."""
    keys = []
    for line in str(text).splitlines():
        key = key_material(line)
        if key is not None and key not in keys:
            keys.append(key)
    return keys


class FilterModule:
    def filters(self):
        return {"authorized_key_material": authorized_key_material}
