"""Schema-driven fuzzing: every operation of the served OpenAPI schema, with generated requests.

The schema is the one the app serves (rendered as ``pbdeployer openapi`` does). Each response
must not be a 5xx, must have a documented status code and content type, and its body
must match the documented schema; a request without the token must be refused. The app is
the real one over a real SQLite database;
its task queue runs, but ``ssh`` on its PATH is a stub that fails at once, so a task that
reaches a host sees it unreachable: the fuzzing cannot touch a real machine nor hang on one.
``bench/fuzz.py`` runs the same with many more examples.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.python import asgi

from pbdeployer.api import create_app, openapi_yaml
from pbdeployer.settings import Settings

TOKEN = "pbd-fuzz-token-Xr7Yq2Lm9Vc4-Hs8Jd3Kf6"
BASE_URL = "http://testserver"  # requests go to the app in-process, never to the network
EXPLORE = os.environ.get("PBDEPLOYER_FUZZ_EXAMPLES")
"""Set by ``bench/fuzz.py``: that many random examples per operation instead of the suite's."""
EXAMPLES = int(EXPLORE or 50)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def unreachable_ssh(directory: Path) -> Path:
    """A directory whose ``ssh`` fails like an unreachable host (exit 255), for ``PATH``."""
    directory.mkdir(parents=True, exist_ok=True)
    stub = directory / "ssh"
    stub.write_text(
        "#!/bin/sh\necho 'ssh: connect to host: Network is unreachable' >&2\nexit 255\n"
    )
    stub.chmod(stub.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return directory


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[requests.Session]:
    """A client of the started app, in-process (schemathesis' ASGI client), for one module."""
    root = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", f"{unreachable_ssh(root / 'bin')}{os.pathsep}{os.environ['PATH']}")
        settings_ = Settings(data_dir=root / "data", ssh_connect_timeout_seconds=1)
        with asgi.get_client(create_app(settings_, token=TOKEN)) as client:
            yield client
        asgi.shutdown_lifespans()  # the deployer stops with its app


def served_schema() -> dict[str, Any]:
    """The app's OpenAPI document; building the app to render it opens nothing."""
    app = create_app(Settings(data_dir=Path("/nonexistent/pbdeployer-fuzz")), token=TOKEN)
    document: dict[str, Any] = yaml.safe_load(openapi_yaml(app))
    return document


DOCUMENT = served_schema()
schema = schemathesis.openapi.from_dict(DOCUMENT)
PUBLIC = {
    (method.upper(), path)
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    if {} in operation.get("security", [])  # an empty requirement: no token needed
}


@schemathesis.serializer("application/zip")
def zip_body(ctx: schemathesis.SerializationContext, value: Any) -> bytes:
    """A raw upload's body as generated (the server must refuse what is not a sound zip)."""
    return value if isinstance(value, bytes) else str(value).encode()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=EXPLORE is None,  # the suite sees the same examples every run
    database=None,  # no replay of past failures from a local directory
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_answers_as_documented(
    case: schemathesis.Case, fuzzed_app: requests.Session
) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    case.call_and_validate(session=fuzzed_app, base_url=BASE_URL, headers=headers, checks=CHECKS)
    operation = (case.operation.method.upper(), case.operation.path)
    if case.method.upper() == operation[0] and operation not in PUBLIC:
        anonymous = case.call(session=fuzzed_app, base_url=BASE_URL, headers={"Authorization": ""})
        assert anonymous.status_code == 401, f"{case.method} {case.path} without the token"
