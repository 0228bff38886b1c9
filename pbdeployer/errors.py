"""The errors pbdeployer raises, one tree so callers can catch broadly or narrowly.

    PbDeployerError
    ├── NotFound(LookupError)           a record that does not exist
    ├── Conflict                        the request clashes with current state
    │   └── DeploymentLocked            another deployment holds the app's lock
    ├── InvalidInput(ValueError)        input failed validation; carries field details
    ├── ArtifactRejected(ValueError)    an uploaded archive is unsafe or unusable
    ├── PayloadTooLarge                 an upload exceeded the configured limit
    ├── StorageFull(OSError)            the data dir ran out of space
    ├── UnsafeSetting(ValueError)       a setting would leave the API open (e.g. a short token)
    ├── DataDirLocked                   another process owns the data dir
    ├── ReadOnlyDeployer                a read-only Deployer was asked to change something
    ├── WrongEventLoop(RuntimeError)    a Deployer was used from another event loop
    └── RunError                        an Ansible run did not succeed
        ├── RunFailed                   a task failed on a host
        │   └── ReleaseFailed           a release failed its health check (rolled back or not)
        ├── HostUnreachable             SSH could not reach the host
        ├── HostKeyChanged              the host presented a different key than recorded
        ├── RunTimeout(TimeoutError)    the run or its output went quiet for too long
        └── RunCancelled                someone cancelled the run

Each error has a stable machine-readable ``code``; the HTTP layer maps classes to status
codes in one place and never needs to parse messages.
"""

from __future__ import annotations

from typing import Any

import msgspec


class FieldProblem(msgspec.Struct, frozen=True, kw_only=True):
    """One reason one input field was refused."""

    field: str
    reason: str


class PbDeployerError(Exception):
    """Root of every error pbdeployer raises on purpose."""

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle every subclass whatever its ``__init__`` takes (multiprocessing, Celery)."""
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))

    def __repr__(self) -> str:
        extra = {k: v for k, v in self.__dict__.items() if k not in ("message", "code")}
        fields = "".join(f", {k}={v!r}" for k, v in extra.items())
        return f"{type(self).__name__}({self.message!r}, code={self.code!r}{fields})"


def _rebuild(
    cls: type[PbDeployerError], args: tuple[Any, ...], state: dict[str, Any]
) -> PbDeployerError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class NotFound(PbDeployerError, LookupError):
    code: str = "not_found"


class Conflict(PbDeployerError):
    code: str = "conflict"


class DeploymentLocked(Conflict):
    """The app's deploy lock is held; ``holder`` is the deployment holding it, when known."""

    code: str = "deployment_locked"

    def __init__(self, message: str, *, holder: str | None = None) -> None:
        super().__init__(message)
        self.holder = holder


class InvalidInput(PbDeployerError, ValueError):
    """Validation failed; ``details`` names every offending field."""

    code: str = "validation_failed"

    def __init__(self, details: list[FieldProblem], message: str | None = None) -> None:
        summary = message or "; ".join(f"{p.field}: {p.reason}" for p in details)
        super().__init__(summary or "invalid input")
        self.details = details

    @classmethod
    def single(cls, field: str, reason: str) -> InvalidInput:
        return cls([FieldProblem(field=field, reason=reason)])


class ArtifactRejected(PbDeployerError, ValueError):
    """The archive was refused; ``code`` says why (``zip_slip``, ``zip_bomb`` ...)."""

    code: str = "artifact_rejected"


class PayloadTooLarge(PbDeployerError):
    code: str = "payload_too_large"


class StorageFull(PbDeployerError, OSError):
    code: str = "storage_full"


class UnsafeSetting(PbDeployerError, ValueError):
    code: str = "unsafe_setting"


class DataDirLocked(PbDeployerError):
    """Another process holds the data dir's lock; ``pid`` names it when known."""

    code: str = "data_dir_locked"

    def __init__(self, message: str, *, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid


class WrongEventLoop(PbDeployerError, RuntimeError):
    """A ``Deployer`` was used from another event loop than the one it started on."""

    code: str = "wrong_event_loop"


class ReadOnlyDeployer(PbDeployerError):
    code: str = "read_only"


class RunError(PbDeployerError):
    """An Ansible run ended without success; names the host and task when known."""

    code: str = "run_error"

    def __init__(self, message: str, *, host: str | None = None, task: str | None = None) -> None:
        super().__init__(message)
        self.host = host
        self.task = task


class RunFailed(RunError):
    code: str = "run_failed"


class ReleaseFailed(RunFailed):
    code: str = "release_failed"


class HostUnreachable(RunError):
    code: str = "host_unreachable"


class HostKeyChanged(RunError):
    code: str = "host_key_changed"


class RunTimeout(RunError, TimeoutError):
    code: str = "run_timeout"


class RunCancelled(RunError):
    code: str = "run_cancelled"
