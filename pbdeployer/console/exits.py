"""Exit codes scripts can rely on, and the one place errors become them.

0  success
1  the operation failed (a task or deployment failed, a conflict, anything else)
2  invalid input (bad arguments, a refused field, a rejected zip)
3  unreachable (a server over SSH, or the API)
4  cancelled
5  not found (a server, app, version, task or deployment that does not exist)
"""

from __future__ import annotations

import enum

from pbdeployer.errors import (
    ArtifactRejected,
    HostKeyChanged,
    HostUnreachable,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PbDeployerError,
    RunCancelled,
)


class Exit(enum.IntEnum):
    OK = 0
    FAILED = 1
    INVALID = 2
    UNREACHABLE = 3
    CANCELLED = 4
    NOT_FOUND = 5


_BY_CODE = {
    "validation_failed": Exit.INVALID,
    "artifact_rejected": Exit.INVALID,
    "payload_too_large": Exit.INVALID,
    "not_found": Exit.NOT_FOUND,
    "host_unreachable": Exit.UNREACHABLE,
    "host_key_changed": Exit.UNREACHABLE,
    "api_unreachable": Exit.UNREACHABLE,
    "run_cancelled": Exit.CANCELLED,
}


def exit_for(code: str | None) -> Exit:
    """The exit code for an error ``code`` a task or deployment ended with."""
    return Exit.FAILED if code is None else _BY_CODE.get(code, Exit.FAILED)


class CommandError(PbDeployerError):
    """A refusal of the command line's own (a missing argument, an unreadable config file)."""

    def __init__(self, message: str, exit_code: Exit = Exit.INVALID) -> None:
        super().__init__(message)
        self.exit_code = exit_code


_BY_CLASS: list[tuple[type[PbDeployerError], Exit]] = [
    (InvalidInput, Exit.INVALID),
    (ArtifactRejected, Exit.INVALID),
    (PayloadTooLarge, Exit.INVALID),
    (NotFound, Exit.NOT_FOUND),
    (HostUnreachable, Exit.UNREACHABLE),
    (HostKeyChanged, Exit.UNREACHABLE),
    (RunCancelled, Exit.CANCELLED),
]


def exit_code(error: PbDeployerError) -> Exit:
    """By the error's class (whatever its detailed code), else by its code."""
    if isinstance(error, CommandError):
        return error.exit_code
    for cls, code in _BY_CLASS:
        if isinstance(error, cls):
            return code
    return exit_for(error.code)
