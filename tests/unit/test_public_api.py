"""What a user discovers from the package: ``dir``, ``help`` and the top-level names."""

from __future__ import annotations

import inspect
import pydoc
import subprocess
import sys
import typing

import pbdeployer
from pbdeployer import Deployer

SERVICES = ["servers", "apps", "versions", "deployments", "setup", "security", "services"]


def test_dir_lists_every_public_name_before_it_is_imported():
    script = "import pbdeployer; print(' '.join(dir(pbdeployer)))"
    listed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert set(pbdeployer.__all__) <= set(listed)
    assert {"Deployer", "RunTimeout", "DeploymentStatus", "ServiceAction"} <= set(listed)


def test_every_public_name_imports_from_the_top_level():
    for name in pbdeployer.__all__:
        assert getattr(pbdeployer, name) is not None, name


def test_help_on_deployer_shows_each_service_and_what_it_is_for():
    text = pydoc.render_doc(Deployer, renderer=pydoc.plaintext)
    listed = {line.strip(" |-").partition(":")[0] for line in text.splitlines()}
    for service in [*SERVICES, "operations", "tasks"]:
        assert service in listed, f"help(Deployer) does not list {service}"


def test_every_public_method_of_every_service_has_a_docstring():
    hints = typing.get_type_hints(Deployer)
    missing = [
        f"{name}.{method}"
        for name in [*SERVICES, "operations", "tasks", "health", "runner"]
        for method, value in vars(hints[name]).items()
        if not method.startswith("_") and callable(value) and not inspect.getdoc(value)
    ]
    assert missing == []
