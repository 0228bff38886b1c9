"""YAML that Ansible reads as plain data: every string carries the ``!unsafe`` tag.

ansible-core 2.19 templates strings it loads from inventory and ``-e @file`` (YAML and JSON
alike), so ``{{ lookup('pipe', ...) }}`` in a server name or an app's notes would run on the
controller. ``!unsafe`` marks a string as data that is never templated. Strings are emitted
double-quoted, so newlines, quotes, ``: `` or ``[group]`` stay inside the value.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
import yaml

from pbdeployer.errors import InvalidInput

UNSAFE_TAG = "!unsafe"
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Unsafe(str):
    """A string Ansible must treat as data (emitted with the ``!unsafe`` tag)."""

    __slots__ = ()


class _Dumper(yaml.SafeDumper):
    pass


class _Loader(yaml.SafeLoader):
    pass


def _represent_unsafe(dumper: yaml.SafeDumper, data: Unsafe) -> yaml.ScalarNode:
    return dumper.represent_scalar(UNSAFE_TAG, str(data), style='"')


def _construct_unsafe(loader: yaml.SafeLoader, node: yaml.Node) -> Unsafe:
    if not isinstance(node, yaml.ScalarNode):
        problem = "!unsafe needs a scalar"
        raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark)
    return Unsafe(loader.construct_scalar(node))


_Dumper.add_representer(Unsafe, _represent_unsafe)
_Loader.add_constructor(UNSAFE_TAG, _construct_unsafe)


def mark_untrusted(value: Any, field: str = "value") -> Any:
    """Return ``value`` as plain containers with every string wrapped in ``Unsafe``.

    Mapping keys must be strings; any key other than a plain identifier is wrapped too, since
    ``dict2items`` would template a trusted key. Structs, enums and datetimes become their
    builtin form first.
    """
    return _mark(msgspec.to_builtins(value), field)


def _mark(value: Any, field: str) -> Any:
    if isinstance(value, str):
        return Unsafe(value)
    if isinstance(value, list):
        return [_mark(item, f"{field}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput.single(field, "mapping keys must be strings")
            out[key if _PLAIN_KEY.match(key) else Unsafe(key)] = _mark(item, f"{field}.{key}")
        return out
    if value is None or isinstance(value, bool | int | float):
        return value
    raise InvalidInput.single(field, f"cannot pass a {type(value).__name__} to Ansible")


def dump_untrusted_yaml(value: Any, field: str = "value") -> str:
    """Serialize ``value`` for Ansible with every string marked ``!unsafe``."""
    return yaml.dump(
        mark_untrusted(value, field),
        Dumper=_Dumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=False,
        width=1_000_000,
    )


def load_untrusted_yaml(text: str) -> Any:
    """Read YAML that may use ``!unsafe`` (our own files); tagged strings become ``Unsafe``."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
