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

from pbdeployer.errors import PbDeployerError


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
    """The exit code for an error ``code`` (the same codes the API and the tasks report)."""
    if code is None:
        return Exit.FAILED
    if code.startswith(("zip_", "artifact_")):
        return Exit.INVALID
    return _BY_CODE.get(code, Exit.FAILED)


class CommandError(PbDeployerError):
    """A refusal of the command line's own (a missing argument, an unreadable config file)."""

    def __init__(self, message: str, exit_code: Exit = Exit.INVALID) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def exit_code(error: PbDeployerError) -> Exit:
    if isinstance(error, CommandError):
        return error.exit_code
    return exit_for(error.code)
