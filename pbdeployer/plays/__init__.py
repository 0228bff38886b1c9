"""Operations as data: pure functions from models to a ``PlaybookInvocation``. No I/O.

Only ``runner/`` executes an invocation; tests pin each one with a golden file.
"""

from pbdeployer.plays import app_env, audit, deploy, lockdown, proxy, service, setup
from pbdeployer.plays.role_vars import ROLE_VARS, RoleVars

__all__ = [
    "ROLE_VARS",
    "RoleVars",
    "app_env",
    "audit",
    "deploy",
    "lockdown",
    "proxy",
    "service",
    "setup",
]
