"""The committed API documents as integrators' tools read them, checked without those tools.

The tools themselves (linters, client generators) run in ``test_contract_tools.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator, Draft202012Validator
from litestar.testing import TestClient

from pbdeployer import validation
from pbdeployer.api import asyncapi_yaml, create_app, events_markdown
from pbdeployer.api.rules import REQUEST_RULES
from pbdeployer.models.task_events import TaskEvent
from pbdeployer.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = yaml.safe_load((ROOT / "api" / "openapi.yaml").read_text())
ASYNCAPI_FILE = ROOT / "api" / "asyncapi.yaml"
EVENTS_FILE = ROOT / "docs" / "events.md"
Json = dict[str, Any]


def _operations(document: Json) -> Iterator[tuple[str, Json]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                yield f"{method.upper()} {path}", operation


def _examples(document: Json) -> Iterator[tuple[str, Json, Any]]:
    """(where, schema, value) for every example in the document."""
    for where, operation in _operations(document):
        for parameter in operation.get("parameters", []):
            for name, example in parameter.get("examples", {}).items():
                yield f"{where} {parameter['name']} {name}", parameter["schema"], example["value"]
        bodies = {"request": operation.get("requestBody", {}), **operation["responses"]}
        for status, body in bodies.items():
            for media_type, content in body.get("content", {}).items():
                schema = content.get("schema", {})
                for name, example in content.get("examples", {}).items():
                    yield f"{where} {status} {media_type} {name}", schema, example["value"]
                for index, value in enumerate(schema.get("examples", [])):
                    yield f"{where} {status} {media_type} schema[{index}]", schema, value
    for name, schema in document["components"]["schemas"].items():
        for index, value in enumerate(schema.get("examples", [])):
            yield f"component {name}[{index}]", schema, value


def test_every_example_is_valid_against_its_schema() -> None:
    checked = 0
    for where, schema, value in _examples(OPENAPI):
        validator = Draft202012Validator(schema | {"components": OPENAPI["components"]})
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(value)]
        assert not errors, f"{where}: {errors}"
        checked += 1
    assert checked >= 60


def test_a_required_nullable_field_keeps_its_null_in_examples() -> None:
    example = OPENAPI["paths"]["/api/v1/versions"]["post"]["responses"]["201"]["content"]
    value = next(iter(example["application/json"]["examples"].values()))["value"]
    assert value["deployment_zip"] is None  # required, and null until the zip is uploaded


def test_component_names_are_plain_identifiers() -> None:
    names = list(OPENAPI["components"]["schemas"])
    assert [n for n in names if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", n)] == []
    assert {"AppPage", "ServerPage", "VersionPage", "DeploymentPage", "TaskPage"} <= set(names)


def test_no_union_has_a_single_branch() -> None:
    text = yaml.safe_dump(OPENAPI)
    document = yaml.safe_load(text)

    def walk(node: Any) -> Iterator[Any]:
        if isinstance(node, dict):
            yield node
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    single = [n for n in walk(document) if len(n.get("oneOf", [None, None])) < 2]
    assert single == []


def test_the_event_union_has_a_discriminator_naming_every_event() -> None:
    events = OPENAPI["paths"]["/api/v1/tasks/{task_id}/events"]["get"]["responses"]["200"]
    items = events["content"]["application/json"]["schema"]["items"]
    tags = {kind.__struct_config__.tag for kind in TaskEvent.__args__}
    assert items["discriminator"]["propertyName"] == "type"
    assert set(items["discriminator"]["mapping"]) == tags


def test_the_error_code_is_an_enum_of_the_documented_codes() -> None:
    enum = OPENAPI["components"]["schemas"]["ErrorInfo"]["properties"]["code"]["enum"]
    documented = {
        value["error"]["code"]
        for _, schema, value in _examples(OPENAPI)
        if schema.get("$ref", "").endswith("/ErrorBody")
    }
    assert documented <= set(enum)
    assert {"validation_failed", "not_found", "path_traversal", "zip_bomb"} <= set(enum)


def test_binary_bodies_are_typed_as_bytes() -> None:
    versions = OPENAPI["paths"]
    upload = versions["/api/v1/versions/{version_id}/upload"]["post"]["requestBody"]["content"]
    form = versions["/api/v1/versions/with-zip"]["post"]["requestBody"]["content"]
    download = versions["/api/v1/versions/{version_id}/download"]["get"]
    schemas = [
        upload["application/octet-stream"]["schema"],
        form["multipart/form-data"]["schema"]["properties"]["file"],
    ]
    for status in ("200", "206"):
        content = download["responses"][status]["content"]
        schemas += [content[m]["schema"] for m in ("application/octet-stream", "application/zip")]
    assert all(s["type"] == "string" and s["format"] == "binary" for s in schemas)
    headers = {p["name"] for p in download["parameters"] if p["in"] == "header"}
    assert {"Range", "If-Range"} <= headers


def test_tags_license_and_descriptions() -> None:
    assert OPENAPI["info"]["license"]["identifier"] == "MIT"
    assert OPENAPI["info"]["contact"]["name"]
    declared = {tag["name"] for tag in OPENAPI["tags"]}
    for where, operation in _operations(OPENAPI):
        assert operation.get("description"), where
        assert set(operation["tags"]) <= declared, where


@pytest.mark.parametrize(
    ("field", "check", "values"),
    [
        ("name", validation.check_name, ["web1", "a", "-x", "a b", "a ", "x" * 100, "x" * 101]),
        ("root_username", validation.check_posix_user, ["root", "_x", "Root", "1a", "a" * 33]),
        ("port", validation.check_port, [0, 1, 22, 65535, 65536]),
    ],
)
def test_server_rules_agree_with_the_validators(field: str, check: Any, values: list[Any]) -> None:
    schema = REQUEST_RULES["ServerCreate"][field]
    for value in values:
        by_schema = Draft202012Validator(schema).is_valid(value)
        assert by_schema == (check(value) is None), (field, value)


def test_version_and_package_rules_agree_with_the_validators() -> None:
    label = REQUEST_RULES["VersionCreate"]["version_number"]
    package = REQUEST_RULES["SetupRequest"]["packages"]["items"]
    for value in ["1.4.0", "v2+build.1", "-1", "a b", "x" * 64, "x" * 65]:
        assert Draft202012Validator(label).is_valid(value) == (
            validation.check_version_label(value) is None
        ), value
    for value in ["htop", "g++", "a", "Htop", "lib-x.1"]:
        assert Draft202012Validator(package).is_valid(value) == (
            validation.check_package_name(value) is None
        ), value


def test_the_websocket_documents_are_served_and_checked_in(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path), token="t" * 32)
    with TestClient(app) as client:
        asyncapi = client.get("/api/v1/schema/asyncapi.yaml")
        events = client.get("/api/v1/schema/events.md")
    assert asyncapi.status_code == 200
    assert asyncapi.headers["content-type"].startswith("application/yaml")
    assert asyncapi.text == asyncapi_yaml() == ASYNCAPI_FILE.read_text(), (
        "api/asyncapi.yaml is stale: run `pbdeployer openapi`"
    )
    assert events.status_code == 200
    assert events.text == events_markdown() == EVENTS_FILE.read_text()


def test_the_asyncapi_document_describes_every_message_and_reply() -> None:
    document = yaml.safe_load(ASYNCAPI_FILE.read_text())
    assert document["asyncapi"].startswith("3.")
    messages = document["components"]["messages"]
    assert set(messages) == {
        "auth", "subscribe", "unsubscribe", "ready", "subscribed", "event", "error", "ping",
        "closing",
    }  # fmt: skip
    replies = {
        name: [m["$ref"].rsplit("/", 1)[1] for m in op.get("reply", {}).get("messages", [])]
        for name, op in document["operations"].items()
        if op["action"] == "receive"
    }
    assert replies == {
        "receiveAuth": ["ready"],
        "receiveSubscribe": ["subscribed", "error"],
        "receiveUnsubscribe": [],
    }
    schemas = document["components"]["schemas"]
    event = {"type": "event", "topic": "task:x", "event": {"type": "task_progress"}}
    root = {"$ref": "#/components/schemas/Event", "components": {"schemas": schemas}}
    validator = Draft7Validator(root)
    assert not validator.is_valid(event)  # a task_progress event lacks its fields
