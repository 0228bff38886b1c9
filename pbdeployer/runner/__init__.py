"""Runs Ansible playbooks; the only package that imports ``ansible_runner``.

Usage: ``handle = Runner(settings).start(invocation, servers, credentials)`` starts a run in
a worker thread and returns at once. ``handle.events()`` yields typed ``RunEvent``s ending
with ``RunFinished``; ``await handle.result()`` returns the ``RunResult`` or raises the
outcome's ``RunError`` (``await handle.wait()`` never raises); ``handle.cancel()`` may be
called from any thread.
"""

from pbdeployer.runner._handle import RunHandle
from pbdeployer.runner._runner import Runner

__all__ = ["RunHandle", "Runner"]
