"""Checks for every value that ends up on a host, in an inventory or in a path.

Each ``check_*`` returns ``None`` when the value is fine or a reason a person can act on.
They are strict on purpose: a value that passes cannot carry inventory syntax, shell syntax,
template syntax or path tricks, so later layers never have to escape it.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar, get_type_hints

import msgspec

from pbdeployer.errors import FieldProblem, InvalidInput

Check = Callable[[str], str | None]
H = TypeVar("H", bound=Hashable)

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")
_POSIX_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}\Z")
_UNIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\Z")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}\Z")
_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]{1,99}\Z")
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9 _.-]{0,98}[A-Za-z0-9_.-])?\Z")
_PATH_PART = re.compile(r"^[A-Za-z0-9_.@+-]+\Z")
_MAX_NOTES = 10_000
_PATH_MAX = 4096  # Linux PATH_MAX and NAME_MAX, in bytes
_NAME_MAX = 255
_SCOPE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,15}\Z")  # an interface name (IFNAMSIZ) or index
# The OS's own trees, and places the host empties or owns: never an app's dir, nor inside one.
_SYSTEM_TREES = (
    *("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/lost+found"),
    *("/proc", "/root", "/run", "/sbin", "/snap", "/sys", "/tmp", "/usr"),  # noqa: S108 (refused)
    *("/var/backups", "/var/cache", "/var/lib/apt", "/var/lib/dpkg", "/var/lib/systemd"),
    *("/var/lock", "/var/log", "/var/mail", "/var/run", "/var/spool", "/var/tmp"),  # noqa: S108 (refused)
)
# Directories many owners share: an app may live below them, never be one of them.
_SHARED_DIRS = frozenset(
    ("/home", "/media", "/mnt", "/opt", "/srv", "/var", "/var/lib", "/var/opt", "/var/www")
)
_HOME_DIR = re.compile(r"^/home/[^/]+\Z")
MAX_LIST_ITEMS = 100
"""Items a list in a request may hold (extra packages, extra ports)."""
MAX_COUNTER = (1 << 53) - 1
"""The largest counter (an event ``seq``) taken as input: every JSON client reads it exactly."""
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def check_name(value: str) -> str | None:
    if not _NAME.match(value):
        return "must be 1-100 letters, digits, spaces, '.', '_' or '-', starting alphanumeric"
    return None


def check_hostname(value: str) -> str | None:
    """A DNS name (RFC 1123) or an IPv4/IPv6 literal, nothing else."""
    if _is_ip(value):
        return None
    if "%" in value:
        return "an IPv6 scope id must be an interface name or number (A-Z a-z 0-9 _ . -, max 15)"
    if len(value) > 253 or not value or value.endswith("."):
        return "must be a DNS name of at most 253 characters or an IP address"
    if not all(_LABEL.match(label) for label in value.split(".")):
        return "must be a DNS name (letters, digits and '-' between dots) or an IP address"
    return None


def check_domain(value: str) -> str | None:
    """A public-style domain: a hostname with at least two labels, not an IP."""
    if _is_ip(value) or "." not in value:
        return "must be a domain name like app.example.com"
    return check_hostname(value)


def check_port(value: int) -> str | None:
    if not 1 <= value <= 65535:
        return "must be between 1 and 65535"
    return None


def check_posix_user(value: str) -> str | None:
    if not _POSIX_USER.match(value):
        return "must be a POSIX user name: lowercase letter or '_' first, then a-z 0-9 _ -, max 32"
    return None


def check_unit_name(value: str) -> str | None:
    """A systemd unit base name, without the ``.service`` suffix and without templates."""
    if value.endswith(".service"):
        value = value.removesuffix(".service")
    if not _UNIT_NAME.match(value) or ".." in value:
        return "must be 1-100 of A-Z a-z 0-9 _ . -, starting with a letter or digit (no '@')"
    return None


def check_remote_path(value: str) -> str | None:
    """Absolute, normalized, not the root, built from plain path segments only."""
    if not value.startswith("/"):
        return "must be an absolute path"
    if value == "/" or posixpath.normpath(value) != value or value.startswith("//"):
        return (
            "must be a normalized absolute path other than '/' (no '..', '.', '//' or trailing '/')"
        )
    if len(value) > 255 or not all(_PATH_PART.match(p) for p in value.split("/")[1:]):
        return "path segments may use only letters, digits and _ . @ + - (max 255 chars)"
    if is_system_path(value):
        return "must not be a system directory or lie inside one (/etc, /usr, /tmp, /root …)"
    return None


def is_system_path(path: str) -> bool:
    """Whether set-up (chown to the app user) or prune (delete) there would harm the host."""
    if any(paths_overlap(path, tree) for tree in _SYSTEM_TREES):
        return True  # inside a system tree, or an ancestor of one like /var of /var/log
    return path in _SHARED_DIRS or _HOME_DIR.match(path) is not None


def paths_overlap(first: str, second: str) -> bool:
    """Whether one normalized absolute path is the other or lies inside it."""
    a, b = posixpath.normpath(first), posixpath.normpath(second)
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


def check_local_path(value: str) -> str | None:
    """A path on the controller: absolute, openable, without control characters."""
    if not value.startswith("/"):
        return "must be an absolute path"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "must not contain control characters"
    encoded = value.encode("utf-8", "surrogateescape")
    if len(encoded) >= _PATH_MAX or any(len(p) > _NAME_MAX for p in encoded.split(b"/")):
        return f"must be shorter than {_PATH_MAX} bytes, each part at most {_NAME_MAX}"
    return None


def check_key_path(value: str) -> str | None:
    """A private key file on the controller, as the run hands it to ssh (inside quotes)."""
    if (reason := check_local_path(value)) is not None:
        return reason
    if any(c in value for c in '"\\'):
        return "must not contain quotes or backslashes"
    return None


def check_version_label(value: str) -> str | None:
    if not _VERSION.match(value):
        return "must be 1-64 of A-Z a-z 0-9 . _ + -, starting with a letter or digit"
    return None


def check_package_name(value: str) -> str | None:
    if not _PACKAGE.match(value):
        return "must be a Debian package name (lowercase a-z 0-9 + . -)"
    return None


def check_notes(value: str) -> str | None:
    if len(value) > _MAX_NOTES:
        return f"must be at most {_MAX_NOTES} characters"
    return None


def checked_list(
    field: str,
    values: Sequence[H],
    check: Callable[[H], str | None],
    *,
    max_items: int = MAX_LIST_ITEMS,
) -> list[H]:
    """Check every item of a list; problems are named ``field[index]``.

    A list is capped (each item becomes work on a host) and names each value once: a repeat
    is a mistake in the request, and hosts would act on it twice.
    """
    if len(values) > max_items:
        raise InvalidInput.single(field, f"must have at most {max_items} items")
    problems = Problems()
    seen: set[H] = set()
    for index, value in enumerate(values):
        problems.check(f"{field}[{index}]", value, check)
        if value in seen:
            problems.add(f"{field}[{index}]", f"repeats {value!r}; list each value once")
        seen.add(value)
    problems.raise_if_any()
    return list(values)


def check_moment(value: datetime) -> str | None:
    """A time filter: with a timezone, so it means one instant, and within years 1970-9000."""
    if value.utcoffset() is None:
        return "must have a timezone, like 2024-05-01T12:00:00Z or 2024-05-01T14:00:00+02:00"
    try:
        in_range = _EARLIEST <= value.astimezone(UTC) <= _LATEST
    except OverflowError:  # year 1 or 9999 moved across midnight by its offset
        in_range = False
    return None if in_range else "must be between 1970 and 9000"


def checked_moments(**moments: datetime | None) -> None:
    """Refuse, naming every field, the given times that ``check_moment`` does not accept."""
    problems = Problems()
    for field, value in moments.items():
        reason = None if value is None else check_moment(value)
        if reason is not None:
            problems.add(field, reason)
    problems.raise_if_any()


class Problems:
    """Collects every field problem so one response can name them all."""

    def __init__(self) -> None:
        self.items: list[FieldProblem] = []

    def check(self, field: str, value: object, check: Callable[..., str | None]) -> None:
        """Run ``check`` when ``value`` is set (``None`` and UNSET are skipped).

        A value of another type than ``check`` takes (``True`` or ``22.5`` for a port) is a
        problem, never skipped.
        """
        if value is None or value is msgspec.UNSET:
            return
        kind = _checked_type(check)
        if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
            self.add(field, f"must be {_TYPE_NAMES.get(kind, kind.__name__)}")
            return
        reason = check(value)
        if reason is not None:
            self.add(field, reason)

    def add(self, field: str, reason: str) -> None:
        self.items.append(FieldProblem(field=field, reason=reason))

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidInput(self.items)


def check_types(data: msgspec.Struct) -> None:
    """Refuse fields whose value is not of the declared type.

    msgspec checks types when it decodes, not when a struct is built in Python, so a library
    caller's ``ServerCreate(port=True)`` must be checked here before anything uses it.
    """
    problems = Problems()
    for info in msgspec.structs.fields(data):
        value = getattr(data, info.name)
        if value is msgspec.UNSET:
            continue
        try:
            msgspec.convert(value, info.type, strict=True)
        except msgspec.ValidationError as exc:
            reason, _, path = str(exc).partition(" - at `$")
            problems.add(info.name + path.rstrip("`"), reason)
    problems.raise_if_any()


_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false"}


@cache
def _checked_type(check: Callable[..., str | None]) -> type[Any]:
    """The type of the value a ``check_*`` function takes, from its annotation."""
    hints = get_type_hints(check)
    kind = hints[next(iter(check.__code__.co_varnames))]
    return kind if isinstance(kind, type) else object


def _is_ip(value: str) -> bool:
    """An IPv4 or IPv6 literal; an IPv6 scope id must be an interface name or number."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    scope = getattr(address, "scope_id", None)
    return scope is None or _SCOPE_ID.match(scope) is not None


def check_binary_name(value: str) -> str | None:
    """The executable's file name at the root of an app zip."""
    if value in (".", "..") or not _PATH_PART.match(value) or len(value) > 100:
        return "must be a plain file name of letters, digits and _ . @ + - (max 100)"
    return None


_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}\Z")
_ENV_VALUE_MAX = 32_768


def check_env_key(value: str) -> str | None:
    if not _ENV_KEY.match(value):
        return "must be 1-128 of A-Z a-z 0-9 _, not starting with a digit"
    return None


def check_env_value(value: str) -> str | None:
    """Any single line of text: quotes, spaces, '$' and '\\' are kept as they are."""
    if len(value) > _ENV_VALUE_MAX:
        return f"must be at most {_ENV_VALUE_MAX} characters"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "must be one line without control characters"
    return None
